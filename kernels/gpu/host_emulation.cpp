// gpu_backend.h for builds without GMG_CUDA or GMG_HIP.
//
// By default there is no device: every call reports that this build has no GPU
// support. With GMG_GPU_EMULATE=1 in the environment the build offers one
// emulated device whose "device memory" is host memory and whose kernels are the
// GPU kernels' arithmetic run on the host (the same group decoders, activation
// quantizers and GeGLU as kernels/gpu/*.cu; sums in plain order). It is a test
// double, not a backend: it lets CI run the offload path of lib/gpu (uploads,
// the device KV cache, graph capture and replay, the LM head chunks) without a
// GPU. Launches made while a stream captures are recorded and run only when the
// graph is launched, as on a device, so stale pointers or positions read at
// capture time show up as wrong results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <vector>

#include "kernels/common/argmax_key.h"
#include "kernels/common/env_flag.h"
#include "kernels/common/group_decode.h"
#include "kernels/common/half.h"
#include "kernels/gpu/gpu_backend.h"
#include "kernels/gpu/split_attention.h"
#include "kernels/gpu/tiled_attention.h"

namespace gmg::gpu {
namespace {

const char* const kNotBuilt =
    "this libgemmagguf was built without GPU support (configure with -DGMG_CUDA=ON or -DGMG_HIP=ON)";
constexpr int kMaxTargets = 3;

bool emulating() { return env_is("GMG_GPU_EMULATE", "1"); }

using Work = std::function<void()>;
struct HostStream {
    bool capturing = false;
    std::vector<Work> captured;
};
struct HostGraph {
    std::vector<Work> work;
};
const groups::GridTables& grid_tables() {
    static const groups::GridTables t = groups::host_tables();
    return t;
}

// Runs `w` now, or records it while the stream captures.
void enqueue(Stream& s, Work w) {
    auto* hs = static_cast<HostStream*>(s.handle());
    if (!hs) return s.fail(kNotBuilt);
    if (hs->capturing) hs->captured.push_back(std::move(w));
    else w();
}

// W[row] . act[c], as one warp of matmul.cu's row_dot computes it.
template <GgmlType T>
float row_dot(const uint8_t* wrow, int64_t k, const ActRows& a, int64_t c) {
    float acc = 0.0f;
    if constexpr (groups::kFloatWeights<T>) {
        for (int64_t i = 0; i < k; ++i) acc += groups::load_float_weight<T>(wrow, i) * a.d_f[c * k + i];
    } else {
        using F = groups::Format<T>;
        constexpr int kGroups = F::kElems / 32;
        const int64_t n_groups = k / 32;
        for (int64_t gi = 0; gi < n_groups; ++gi) {
            groups::QGroup grp;
            F::decode(wrow + (gi / kGroups) * F::kBytes, static_cast<int>(gi % kGroups), grid_tables(), grp);
            int32_t act[8];
            std::memcpy(act, a.d_q + c * k + 32 * gi, sizeof act);
            const int64_t at = c * n_groups + gi;
            if constexpr (groups::kMinTimesSum<T>)
                acc += groups::group_dot_min_sum(grp, act, a.d_scale[at], a.d_sum[at]);
            else
                acc += groups::group_dot(grp, act, a.d_scale[at]);
        }
    }
    return acc;
}

float dot_row(const DeviceWeight& w, int64_t r, const ActRows& a, int64_t c) {
    float out = 0.0f;
    groups::visit_weight_type(w.type, [&](auto tag) {
        out = row_dot<decltype(tag)::value>(static_cast<const uint8_t*>(w.d_data) + r * w.row_bytes, w.cols, a, c);
    });
    return out;
}

float inv_rms(const float* x, int64_t width, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < width; ++i) sum += static_cast<double>(x[i] * x[i]);
    return 1.0f / std::sqrt(static_cast<float>(sum / static_cast<double>(width)) + eps);
}

void quantize_row(ActRule rule, const float* x, int64_t k, int8_t* q, float* scale, float* f, float* sum) {
    if (is_float_rule(rule)) {
        for (int64_t i = 0; i < k; ++i) f[i] = round_float_act(rule, x[i]);
        return;
    }
    const int blk = act_block(rule);
    for (int64_t b = 0; b < k / blk; ++b)
        quantize_block(rule, x + b * blk, q + b * blk, scale + b * (blk / 32), sum ? sum + b * (blk / 32) : nullptr);
}

}  // namespace

const char* vendor() { return emulating() ? "host emulation" : "none"; }
bool built() { return emulating(); }

bool device_count(int* n, std::string* error) {
    *n = emulating() ? 1 : 0;
    if (*n == 0) *error = kNotBuilt;
    return *n > 0;
}

bool device_info(int device, DeviceInfo* out, std::string* error) {
    if (!emulating()) {
        *error = kNotBuilt;
        return false;
    }
    if (device != 0) {
        *error = "GPU device " + std::to_string(device) + " does not exist (1 emulated device)";
        return false;
    }
    *out = DeviceInfo{"host emulation (GMG_GPU_EMULATE=1)", 0, 0, 64ull << 30, 32, 1};
    return true;
}

DeviceBuffer::~DeviceBuffer() { std::free(ptr_); }
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
        std::free(ptr_);
        ptr_ = o.ptr_, bytes_ = o.bytes_;
        o.ptr_ = nullptr, o.bytes_ = 0;
    }
    return *this;
}
bool DeviceBuffer::allocate(size_t bytes, std::string* error) {
    if (!emulating()) {
        *error = kNotBuilt;
        return false;
    }
    std::free(ptr_);
    ptr_ = std::malloc(bytes ? bytes : 1);
    bytes_ = ptr_ ? bytes : 0;
    if (!ptr_) *error = "out of (emulated device) memory";
    // Fresh device memory holds garbage: NaN bytes make a read-before-write visible.
    if (ptr_) std::memset(ptr_, 0xff, bytes);
    return ptr_ != nullptr;
}

PinnedBuffer::~PinnedBuffer() { std::free(ptr_); }
bool PinnedBuffer::allocate(size_t bytes, std::string* error) {
    if (!emulating()) {
        *error = kNotBuilt;
        return false;
    }
    std::free(ptr_);
    ptr_ = std::malloc(bytes ? bytes : 1);
    if (!ptr_) *error = "out of host memory";
    return ptr_ != nullptr;
}

Stream::~Stream() { delete static_cast<HostStream*>(handle_); }
bool Stream::create(int device, std::string* error) {
    DeviceInfo info;
    if (!device_info(device, &info, error)) return false;
    delete static_cast<HostStream*>(handle_);
    handle_ = new HostStream;
    device_ = device;
    warp_size_ = info.warp_size;
    major_ = info.major;
    tables_ = &grid_tables();
    return true;
}
bool Stream::activate() { return handle_ != nullptr; }
void Stream::fail(const std::string& m) {
    if (error_.empty()) error_ = m;
}
bool Stream::sync(std::string* error) {
    if (!handle_ && error_.empty()) error_ = kNotBuilt;
    if (!error_.empty()) *error = error_;
    return error_.empty();
}
void Stream::upload(void* d_dst, const void* src, size_t bytes) {
    enqueue(*this, [=] { std::memcpy(d_dst, src, bytes); });
}
void Stream::download(void* dst, const void* d_src, size_t bytes) {
    enqueue(*this, [=] { std::memcpy(dst, d_src, bytes); });
}
void Stream::zero(void* d_dst, size_t bytes) {
    enqueue(*this, [=] { std::memset(d_dst, 0, bytes); });
}
bool Stream::begin_capture() {
    auto* hs = static_cast<HostStream*>(handle_);
    if (!hs || hs->capturing) return false;
    hs->capturing = true;
    hs->captured.clear();
    return true;
}
bool Stream::end_capture(Graph* out) {
    auto* hs = static_cast<HostStream*>(handle_);
    if (!hs || !hs->capturing) return false;
    hs->capturing = false;
    out->reset();
    if (!error_.empty()) return false;  // as a device: a capture with a failed launch yields no graph
    out->exec_ = new HostGraph{std::move(hs->captured)};
    hs->captured.clear();
    return true;
}

Graph::~Graph() { reset(); }
void Graph::reset() {
    delete static_cast<HostGraph*>(exec_);
    exec_ = nullptr;
}
void Graph::launch(Stream& s) {
    if (!exec_) return s.fail("launching an empty graph");
    for (const Work& w : static_cast<HostGraph*>(exec_)->work) enqueue(s, w);
}

Timer::~Timer() {
    delete static_cast<std::chrono::steady_clock::time_point*>(begin_);
}
void Timer::start(Stream&) {
    delete static_cast<std::chrono::steady_clock::time_point*>(begin_);
    begin_ = new std::chrono::steady_clock::time_point(std::chrono::steady_clock::now());
}
float Timer::stop_ms(Stream& s) {
    std::string error;
    if (!begin_ || !s.sync(&error)) return 0.0f;
    const auto t0 = *static_cast<std::chrono::steady_clock::time_point*>(begin_);
    return std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void copy_device(Stream& s, void* d_dst, const void* d_src, size_t bytes) {
    enqueue(s, [=] { std::memmove(d_dst, d_src, bytes); });
}

// ---- kernels -------------------------------------------------------------------

void quantize_rows(Stream& s, ActRule rule, const float* d_x, int64_t n, int64_t k, const ActRows& out) {
    if (k % act_block(rule) != 0) return s.fail("quantize_rows: row length is not a whole number of blocks");
    if (!check_act_rows(s, rule, out, "quantize_rows")) return;
    enqueue(s, [=] {
        for (int64_t r = 0; r < n; ++r)
            quantize_row(rule, d_x + r * k, k, out.d_q ? out.d_q + r * k : nullptr,
                         out.d_scale ? out.d_scale + r * (k / 32) : nullptr, out.d_f ? out.d_f + r * k : nullptr,
                         out.d_sum ? out.d_sum + r * (k / 32) : nullptr);
    });
}

bool has_matmul(GgmlType type) {
    return groups::visit_weight_type(type, [](auto) {});
}

void matmul(Stream& s, const DeviceWeight& w, const ActRows& act, int64_t n, float* d_y, int64_t ldy, bool) {
    if (!has_matmul(w.type)) return s.fail(std::string("no GPU matmul for ") + std::string(traits_of(w.type).name));
    enqueue(s, [=] {
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < w.rows; ++r)
            for (int64_t c = 0; c < n; ++c) d_y[c * ldy + r] = dot_row(w, r, act, c);
    });
}

void matmul_multi(Stream& s, const DeviceWeight* w, float* const* d_y, int count, const ActRows& act, int64_t n) {
    if (count < 1 || count > kMaxTargets) return s.fail("matmul_multi: 1 to 3 matrices");
    for (int j = 0; j < count; ++j)
        if (w[j].type != w[0].type || w[j].cols != w[0].cols)
            return s.fail("matmul_multi: the matrices differ in type or width");
    for (int j = 0; j < count; ++j) matmul(s, w[j], act, n, d_y[j], w[j].rows);
}

// The device's fused quantization of the output gives quantize_rows' bytes: one pass after.
void matmul_geglu(Stream& s, const DeviceWeight& gate, const DeviceWeight& up, const ActRows& act, int64_t n,
                  float* d_y, int64_t ldy, const ActOutput* quantized, unsigned* /*d_counters*/) {
    if (!has_matmul(gate.type)) return s.fail(std::string("no GPU matmul for ") + std::string(traits_of(gate.type).name));
    if (gate.type != up.type || gate.rows != up.rows || gate.cols != up.cols || gate.row_bytes != up.row_bytes)
        return s.fail("matmul_geglu: gate and up differ in type or shape");
    if (quantized && !geglu_output_ok(s, gate.rows, ldy, *quantized)) return;
    enqueue(s, [=] {
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < gate.rows; ++r)
            for (int64_t c = 0; c < n; ++c) d_y[c * ldy + r] = geglu_value(dot_row(gate, r, act, c), dot_row(up, r, act, c));
    });
    if (quantized) quantize_rows(s, quantized->rule, d_y, n, gate.rows, quantized->rows);
}

void rms_norm(Stream& s, const float* d_x, const float* d_w, float* d_y, int64_t n, int64_t width, float eps) {
    enqueue(s, [=] {
        for (int64_t r = 0; r < n; ++r) {
            const float scale = inv_rms(d_x + r * width, width, eps);
            for (int64_t i = 0; i < width; ++i) d_y[r * width + i] = (d_x[r * width + i] * scale) * d_w[i];
        }
    });
}

void add_rms_norm(Stream& s, float* d_x, const float* d_p, const float* d_w, int64_t n, int64_t width, float eps) {
    enqueue(s, [=] {
        for (int64_t r = 0; r < n; ++r) {
            const float scale = inv_rms(d_p + r * width, width, eps);
            for (int64_t i = 0; i < width; ++i) d_x[r * width + i] += (d_p[r * width + i] * scale) * d_w[i];
        }
    });
}

bool has_mma_matmul(const Stream&, GgmlType) { return false; }  // matmul's own arithmetic serves prompts
double mma_peak_launch(Stream&, int, int, int*) { return 0.0; }
void matmul_mma(Stream& s, const DeviceWeight&, const ActRows&, int64_t, float*, int64_t) {
    s.fail("matmul_mma: the emulated device has no tensor-core path");
}
void matmul_geglu_mma(Stream& s, const DeviceWeight&, const DeviceWeight&, const ActRows&, int64_t, float*, int64_t) {
    s.fail("matmul_geglu_mma: the emulated device has no tensor-core path");
}
bool has_tensor_matmul(const Stream&, GgmlType) { return false; }  // no tensor cores to emulate
size_t tensor_activation_bytes(int64_t, int64_t) { return 0; }
void to_tensor_activations(Stream& s, const float*, int64_t, int64_t, void*) {
    s.fail("to_tensor_activations: the emulated device has no tensor-core path");
}
void matmul_tensor(Stream& s, const DeviceWeight&, const void*, int64_t, float*, int64_t) {
    s.fail("matmul_tensor: the emulated device has no tensor-core path");
}

void rms_norm_quantize(Stream& s, const float* d_x, const float* d_w, float* d_h, int64_t n, int64_t width, float eps,
                       ActRule rule, const ActRows& act) {
    if (n <= 0) return;
    if (!fused_norm_fits(width, rule)) return s.fail("rms_norm_quantize: row too wide or not whole blocks");
    rms_norm(s, d_x, d_w, d_h, n, width, eps);
    quantize_rows(s, rule, d_h, n, width, act);
}

void add_rms_norm_quantize(Stream& s, float* d_x, const float* d_p, const float* d_w_post, const float* d_w_pre,
                           float* d_h, int64_t n, int64_t width, float eps, ActRule rule, const ActRows& act) {
    if (n <= 0) return;
    if (!fused_norm_fits(width, rule)) return s.fail("add_rms_norm_quantize: row too wide or not whole blocks");
    add_rms_norm(s, d_x, d_p, d_w_post, n, width, eps);
    rms_norm_quantize(s, d_x, d_w_pre, d_h, n, width, eps, rule, act);
}

void geglu(Stream& s, float* d_gate, const float* d_up, int64_t count) {
    enqueue(s, [=] {
        for (int64_t i = 0; i < count; ++i) d_gate[i] = geglu_value(d_gate[i], d_up[i]);
    });
}

void softcap(Stream& s, float* d_x, int64_t count, float cap) {
    enqueue(s, [=] {
        for (int64_t i = 0; i < count; ++i) d_x[i] = cap * std::tanh(d_x[i] / cap);
    });
}

void argmax_rows(Stream& s, const float* d_x, int64_t rows, int64_t n, int32_t* d_out) {
    enqueue(s, [=] {
        for (int64_t r = 0; r < rows; ++r) d_out[r] = static_cast<int32_t>(argmax_first(d_x + r * n, n));
    });
}

void top_candidates(Stream& s, const float* d_x, int64_t n, uint64_t* /*d_scratch*/, uint64_t* d_out) {
    if (n <= 0) return;
    enqueue(s, [=] {
        std::vector<uint64_t> keys(static_cast<size_t>(std::max<int64_t>(n, kTopCandidates)), 0);
        for (int64_t j = 0; j < n; ++j) keys[static_cast<size_t>(j)] = argmax_key(d_x[j], static_cast<uint32_t>(j));
        std::partial_sort(keys.begin(), keys.begin() + kTopCandidates, keys.end(), std::greater<>());
        std::copy(keys.begin(), keys.begin() + kTopCandidates, d_out);
    });
}

void qk_norm_rope_store(Stream& s, const AttentionShape& a, float* d_q, const float* d_k, const float* d_v,
                        const float* d_q_norm, const float* d_k_norm, float eps, float rope_base, float freq_scale,
                        float attn_scale, uint16_t* d_kcache, uint16_t* d_vcache, int64_t n, const int32_t* d_pos0) {
    if (n <= 0 || !check_attention_shape(s, a)) return;
    const float theta_scale = std::pow(rope_base, -2.0f / static_cast<float>(a.n_rot));
    enqueue(s, [=] {
        const int64_t D = a.head_dim, half = a.n_rot / 2;
        std::vector<float> row(static_cast<size_t>(D));
        for (int64_t t = 0; t < n; ++t) {
            const int64_t pos = *d_pos0 + t;  // read when the work runs, as the device reads it
            for (int64_t head = 0; head < a.n_head + a.n_head_kv; ++head) {
                const bool is_q = head < a.n_head;
                const int64_t h = is_q ? head : head - a.n_head;
                const int64_t width = (is_q ? a.n_head : a.n_head_kv) * D;
                const float* src = (is_q ? d_q : d_k) + t * width + h * D;
                const float* norm = is_q ? d_q_norm : d_k_norm;
                const float scale = inv_rms(src, D, eps);
                for (int64_t i = 0; i < D; ++i) row[i] = (src[i] * scale) * norm[i];
                for (int64_t i = 0; i < half; ++i) {
                    float theta = static_cast<float>(pos);
                    for (int64_t j = 0; j < i; ++j) theta *= theta_scale;
                    const float angle = freq_scale * theta, c = std::cos(angle), sn = std::sin(angle);
                    const float x0 = row[i], x1 = row[i + half];
                    row[i] = x0 * c - x1 * sn;
                    row[i + half] = x0 * sn + x1 * c;
                }
                if (is_q) {
                    for (int64_t i = 0; i < D; ++i) d_q[t * width + h * D + i] = row[i] * attn_scale;
                    continue;
                }
                const int64_t slot = (pos % a.capacity) * width + h * D;
                for (int64_t i = 0; i < D; ++i) {
                    d_kcache[slot + i] = f32_to_f16(row[i]);
                    d_vcache[slot + i] = f32_to_f16(d_v[t * width + h * D + i]);
                }
            }
        }
    });
}

// The split path as the device runs it (split_attention.h): chunk by chunk, each
// chunk's (max, sum) and partial row through the scratch, the partial rows summed in
// chunk order.
static void split_attention(const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
                            const uint16_t* d_vcache, float* d_out, int64_t n, int64_t pos0, float* d_scratch) {
    const SplitPlan plan = split_plan(a);
    const SplitScratch at = split_scratch(a, plan, n);
    const int64_t D = a.head_dim, Q = a.n_head * D, KV = a.n_head_kv * D;
    std::vector<float> qv(static_cast<size_t>(D));
    for (int64_t t = 0; t < n; ++t) {
        int64_t lo, p;
        query_keys(a, pos0, t, &lo, &p);
        for (int64_t h = 0; h < a.n_head; ++h) {
            const int64_t kvh = h / (a.n_head / a.n_head_kv), row = t * a.n_head + h;
            for (int64_t i = 0; i < D; ++i) qv[i] = f16_to_f32(f32_to_f16(d_q[t * Q + h * D + i]));
            float* scores = d_scratch + at.scores + row * a.capacity;
            float* stats = d_scratch + at.stats + row * plan.chunks * 2;
            for (int64_t c = 0; c < plan.chunks; ++c) {  // pass 1
                int64_t first, last;
                chunk_keys(plan, lo, p, c, &first, &last);
                float m = -INFINITY, l = 0.0f;
                for (int64_t j = first; j <= last; ++j) {
                    const uint16_t* kj = d_kcache + (j % a.capacity) * KV + kvh * D;
                    float sc = 0.0f;
                    for (int64_t i = 0; i < D; ++i) sc += qv[i] * f16_to_f32(kj[i]);
                    scores[j % a.capacity] = sc;
                    const float m_new = std::fmax(m, sc);
                    l = l * std::exp(m - m_new) + std::exp(sc - m_new);
                    m = m_new;
                }
                stats[2 * c] = m;
                stats[2 * c + 1] = l;
            }
            float M = -INFINITY, L = 0.0f;
            for (int64_t c = 0; c < plan.chunks; ++c) M = std::fmax(M, stats[2 * c]);
            for (int64_t c = 0; c < plan.chunks; ++c) merge_chunk_stats(stats[2 * c], stats[2 * c + 1], M, &L);
            for (int64_t c = 0; c < plan.chunks; ++c) {  // pass 2
                float* partial = d_scratch + at.partial + (row * plan.chunks + c) * D;
                std::fill(partial, partial + D, 0.0f);
                int64_t first, last;
                chunk_keys(plan, lo, p, c, &first, &last);
                for (int64_t j = first; j <= last; ++j) {
                    const float pj = f16_to_f32(f32_to_f16(std::exp(scores[j % a.capacity] - M) * (1.0f / L)));
                    if (pj == 0.0f) continue;
                    const uint16_t* vj = d_vcache + (j % a.capacity) * KV + kvh * D;
                    for (int64_t i = 0; i < D; ++i) partial[i] += pj * f16_to_f32(vj[i]);
                }
            }
            for (int64_t i = 0; i < D; ++i) {  // pass 3
                float sum = 0.0f;
                for (int64_t c = 0; c < plan.chunks; ++c) sum += d_scratch[at.partial + (row * plan.chunks + c) * D + i];
                d_out[t * Q + h * D + i] = sum;
            }
        }
    }
}

// The tiled path as the device runs it (tiled_attention.h, attention_tiled.cu): the
// same tiles, key ranges and chunks, each row's max and sum per chunk from eight
// lanes' shares merged as the kernel's shuffles merge them; the products summed in
// order where the tensor cores sum in their own.
static void tiled_attention_host(const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
                                 const uint16_t* d_vcache, float* d_out, int64_t n, int64_t pos0) {
    constexpr int kLanes = 8;  // the kernel's threads per row
    const int64_t D = a.head_dim, Q = a.n_head * D, KV = a.n_head_kv * D;
    std::vector<float> qv(static_cast<size_t>(kTileRows * D)), acc(static_cast<size_t>(kTileRows * D));
    std::vector<float> scores(static_cast<size_t>(kTileRows * kTileKeys));
    for (int64_t kvh = 0; kvh < a.n_head_kv; ++kvh) {
        for (int64_t tile = 0; tile < tile_count(a, n); ++tile) {
            int64_t tok[kTileRows], head[kTileRows], lo[kTileRows], hi[kTileRows];
            float m[kTileRows], l[kTileRows];
            for (int64_t r = 0; r < kTileRows; ++r) {
                tile_row(a, tile, kvh, r, &tok[r], &head[r]);
                tile_row_keys(a, pos0, tok[r], n, &lo[r], &hi[r]);
                for (int64_t i = 0; i < D; ++i)
                    qv[r * D + i] = tok[r] < n ? f16_to_f32(f32_to_f16(d_q[tok[r] * Q + head[r] * D + i])) : 0.0f;
                m[r] = -INFINITY, l[r] = 0.0f;
            }
            std::fill(acc.begin(), acc.end(), 0.0f);
            int64_t first, last;
            tile_keys(a, pos0, tile, n, &first, &last);
            for (int pass = 0; pass < 2; ++pass) {
                for (int64_t c = 0; c < tile_chunks(first, last); ++c) {
                    const int64_t j0 = first + c * kTileKeys;
                    for (int64_t r = 0; r < kTileRows; ++r) {
                        for (int64_t col = 0; col < kTileKeys; ++col) {
                            const int64_t j = j0 + col;
                            float sc = -INFINITY;
                            if (j >= lo[r] && j <= hi[r]) {
                                sc = 0.0f;  // keys past `last` are staged as zeros
                                const uint16_t* kj = d_kcache + (j % a.capacity) * KV + kvh * D;
                                if (j <= last)
                                    for (int64_t i = 0; i < D; ++i) sc += qv[r * D + i] * f16_to_f32(kj[i]);
                            }
                            scores[r * kTileKeys + col] = sc;
                        }
                    }
                    for (int64_t r = 0; r < kTileRows; ++r) {
                        const float* sr = scores.data() + r * kTileKeys;
                        if (pass == 0) {
                            float cm = -INFINITY;
                            for (int64_t col = 0; col < kTileKeys; ++col) cm = std::fmax(cm, sr[col]);
                            const float m_new = std::fmax(m[r], cm), base = m_new == -INFINITY ? 0.0f : m_new;
                            float e[kLanes];
                            for (int lane = 0; lane < kLanes; ++lane) {
                                e[lane] = 0.0f;
                                for (int64_t col = lane; col < kTileKeys; col += kLanes) e[lane] += std::exp(sr[col] - base);
                            }
                            for (int o = kLanes / 2; o > 0; o /= 2) {  // the kernel's butterfly
                                float next[kLanes];
                                for (int lane = 0; lane < kLanes; ++lane) next[lane] = e[lane] + e[lane ^ o];
                                std::copy(next, next + kLanes, e);
                            }
                            if (m_new != -INFINITY) {
                                l[r] = l[r] * std::exp(m[r] - m_new) + e[0];
                                m[r] = m_new;
                            }
                            continue;
                        }
                        const float inv = 1.0f / l[r];
                        for (int64_t col = 0; col < kTileKeys; ++col) {
                            if (sr[col] == -INFINITY || j0 + col > last) continue;  // zero probability, or a zero V row
                            const float pj = f16_to_f32(f32_to_f16(std::exp(sr[col] - m[r]) * inv));
                            const uint16_t* vj = d_vcache + ((j0 + col) % a.capacity) * KV + kvh * D;
                            for (int64_t i = 0; i < D; ++i) acc[r * D + i] += pj * f16_to_f32(vj[i]);
                        }
                    }
                }
            }
            for (int64_t r = 0; r < kTileRows; ++r)
                if (tok[r] < n) std::copy(acc.begin() + r * D, acc.begin() + (r + 1) * D, d_out + tok[r] * Q + head[r] * D);
        }
    }
}

bool has_tiled_attention(const Stream&, const AttentionShape& a) { return tiled_attention_fits(a); }

void attention_tiled(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
                     const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0) {
    if (n <= 0) return;
    if (!has_tiled_attention(s, a)) return s.fail("attention: no tiled kernel for this device or head shape");
    enqueue(s, [=] { tiled_attention_host(a, d_q, d_kcache, d_vcache, d_out, n, *d_pos0); });
}

// One row at a time, as the one-block kernel.
static void attention_rows(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
                           const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0) {
    enqueue(s, [=] {
        const int64_t D = a.head_dim, Q = a.n_head * D, KV = a.n_head_kv * D;
        std::vector<float> qv(static_cast<size_t>(D)), acc(static_cast<size_t>(D));
        for (int64_t t = 0; t < n; ++t) {
            int64_t lo, p;
            query_keys(a, *d_pos0, t, &lo, &p);
            for (int64_t h = 0; h < a.n_head; ++h) {
                const int64_t kvh = h / (a.n_head / a.n_head_kv);
                for (int64_t i = 0; i < D; ++i) qv[i] = f16_to_f32(f32_to_f16(d_q[t * Q + h * D + i]));
                auto score = [&](int64_t j) {
                    const uint16_t* kj = d_kcache + (j % a.capacity) * KV + kvh * D;
                    float sc = 0.0f;
                    for (int64_t i = 0; i < D; ++i) sc += qv[i] * f16_to_f32(kj[i]);
                    return sc;
                };
                float m = -INFINITY, l = 0.0f;
                for (int64_t j = lo; j <= p; ++j) {
                    const float sc = score(j), m_new = std::fmax(m, sc);
                    l = l * std::exp(m - m_new) + std::exp(sc - m_new);
                    m = m_new;
                }
                std::fill(acc.begin(), acc.end(), 0.0f);
                for (int64_t j = lo; j <= p; ++j) {
                    const float pj = f16_to_f32(f32_to_f16(std::exp(score(j) - m) * (1.0f / l)));
                    if (pj == 0.0f) continue;
                    const uint16_t* vj = d_vcache + (j % a.capacity) * KV + kvh * D;
                    for (int64_t i = 0; i < D; ++i) acc[i] += pj * f16_to_f32(vj[i]);
                }
                for (int64_t i = 0; i < D; ++i) d_out[t * Q + h * D + i] = acc[i];
            }
        }
    });
}

void attention(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
               const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0, float* d_scratch,
               AttentionPath want, const ActOutput* quantized) {
    AttentionPath path;
    if (n <= 0 || !resolve_attention_path(s, a, n, d_scratch != nullptr, want, quantized, &path)) return;
    // The device's split blocks quantize their slices with quantize_rows' arithmetic:
    // one pass after the attention gives the same bytes.
    if (path == AttentionPath::tiled) attention_tiled(s, a, d_q, d_kcache, d_vcache, d_out, n, d_pos0);
    else if (path == AttentionPath::split)
        enqueue(s, [=] { split_attention(a, d_q, d_kcache, d_vcache, d_out, n, *d_pos0, d_scratch); });
    else attention_rows(s, a, d_q, d_kcache, d_vcache, d_out, n, d_pos0);
    if (quantized) quantize_rows(s, quantized->rule, d_out, n, a.n_head * a.head_dim, quantized->rows);
}

}  // namespace gmg::gpu
