// The GPU backend as plain C++: what the library and the tests call, with no
// CUDA or HIP type in sight (the .cu files behind it are the only ones that see
// a vendor header). Built with GMG_CUDA or GMG_HIP; otherwise host_emulation.cpp
// provides the same functions, reporting that the build has no GPU support (or,
// with GMG_GPU_EMULATE=1, running them on the host: a test double).
//
// Pointers named d_* are device memory. Launchers are asynchronous on a Stream;
// the first error on a stream is kept and returned by Stream::sync().
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/common/ggml_type.h"
#include "kernels/gpu/act_quant.h"

namespace gmg::gpu {

// "CUDA", "HIP", or "none" (built without a GPU backend).
const char* vendor();
bool built();

struct DeviceInfo {
    std::string name;
    int major = 0, minor = 0;  // compute capability (CUDA) or gfx version (HIP)
    uint64_t memory_bytes = 0;
    int warp_size = 0;
    int multiprocessors = 0;
};
// The usable devices; false (with a message) when none: no driver, no device, or no GPU support built.
bool device_count(int* n, std::string* error);
bool device_info(int device, DeviceInfo* out, std::string* error);

// Device memory, freed with the object.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr, o.bytes_ = 0; }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    bool allocate(size_t bytes, std::string* error);
    void* data() const { return ptr_; }
    template <class T>
    T* as() const { return static_cast<T*>(ptr_); }
    size_t bytes() const { return bytes_; }

private:
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
};

// Page-locked host memory: copies from it can be captured in a graph.
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    ~PinnedBuffer();
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    bool allocate(size_t bytes, std::string* error);
    void* data() const { return ptr_; }
    template <class T>
    T* as() const { return static_cast<T*>(ptr_); }

private:
    void* ptr_ = nullptr;
};

class Graph;

// A stream on one device, its codebook tables, and the first error seen on it.
class Stream {
public:
    Stream() = default;
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    bool create(int device, std::string* error);
    // Makes the stream's device current on the calling thread (launches go there).
    bool activate();

    void* handle() const { return handle_; }
    int device() const { return device_; }
    int warp_size() const { return warp_size_; }
    int compute_major() const { return major_; }  // compute capability (CUDA) / gfx major (HIP)
    const void* tables() const { return tables_; }  // a GridTables of device pointers
    bool ok() const { return error_.empty(); }
    void fail(const std::string& message);  // keeps the first
    // Waits for the work queued so far; false with the first error.
    bool sync(std::string* error);

    void upload(void* d_dst, const void* src, size_t bytes);
    void download(void* dst, const void* d_src, size_t bytes);
    void zero(void* d_dst, size_t bytes);

    // Everything queued between these becomes the graph (nothing runs meanwhile).
    bool begin_capture();
    bool end_capture(Graph* out);

private:
    void* handle_ = nullptr;
    int device_ = 0;
    int warp_size_ = 32;
    int major_ = 0;
    const void* tables_ = nullptr;
    std::string error_;
};

class Graph {
public:
    Graph() = default;
    ~Graph();
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;
    bool valid() const { return exec_ != nullptr; }
    void launch(Stream& s);
    void reset();

private:
    friend class Stream;
    void* exec_ = nullptr;
};

inline constexpr int kTopCandidates = 64;
// top_candidates cuts the row into tiles of kTopTile, each keeping its kTopCandidates
// best, and cuts the survivors again until one tile is left, which writes the result.
inline constexpr int64_t kTopTile = 4096;
inline int64_t top_survivors(int64_t m) { return (m + kTopTile - 1) / kTopTile * kTopCandidates; }
inline size_t top_candidates_scratch_bytes(int64_t n) {
    size_t keys = 1;
    for (int64_t m = n; m > kTopTile; m = top_survivors(m)) keys += static_cast<size_t>(top_survivors(m));
    return keys * sizeof(uint64_t);
}

// Device time between start() and stop_ms() on one stream (events), in milliseconds.
class Timer {
public:
    Timer() = default;
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    void start(Stream& s);
    float stop_ms(Stream& s);  // waits for the stream; 0 after an error (see Stream::sync)

private:
    void* begin_ = nullptr;
    void* end_ = nullptr;
};

void copy_device(Stream& s, void* d_dst, const void* d_src, size_t bytes);

// ---- kernels -------------------------------------------------------------------

// Quantized activations of n rows of k floats for one ActRule: int8 q (n*k) and a
// float scale per 32 (n*k/32); float rules write rounded floats to f (n*k) instead.
struct ActRows {
    int8_t* d_q = nullptr;
    float* d_scale = nullptr;
    float* d_f = nullptr;
    float* d_sum = nullptr;  // Q8_1 only: its stored d * sum(q) per 32 (n*k/32), for Q4_1/Q5_1
};
void quantize_rows(Stream& s, ActRule rule, const float* d_x, int64_t n, int64_t k, const ActRows& out);
// False (and the stream failed, naming `who`) when `rows` cannot take `rule`'s
// activations: Q8_1 needs its sums.
inline bool check_act_rows(Stream& s, ActRule rule, const ActRows& rows, const char* who) {
    if (rule != ActRule::q8_1 || rows.d_sum) return true;
    s.fail(std::string(who) + ": Q8_1 activations need their sums (ActRows::d_sum)");
    return false;
}
// Where a kernel also writes its output quantized for the matrix that reads it next
// (as quantize_rows would), sparing that launch.
struct ActOutput {
    ActRule rule = ActRule::q8_0;
    ActRows rows;
};

// A weight matrix on the device, in its GGUF block format.
struct DeviceWeight {
    GgmlType type = GgmlType::F32;
    const void* d_data = nullptr;
    size_t row_bytes = 0;
    int64_t rows = 0, cols = 0;
};
// True when `type` has a GPU matmul.
bool has_matmul(GgmlType type);
// y[c * ldy + r] = W[r] . act[c] for c < n: activations prepared by quantize_rows
// with act_rule(w.type). allow_mma = false keeps prompts on the dp4a kernels (the LM
// head: a row's logits then round alike in any prompt chunk and in decode).
void matmul(Stream& s, const DeviceWeight& w, const ActRows& act, int64_t n, float* d_y, int64_t ldy,
            bool allow_mma = true);
// Up to three matrices of one type and width against the same activations in one
// launch (q, k, v): d_y[j] receives (n, w[j].rows).
void matmul_multi(Stream& s, const DeviceWeight* w, float* const* d_y, int count, const ActRows& act, int64_t n);
// gate and up (one type and shape) and the GeGLU after them in one launch:
// y[c * ldy + r] = gelu(gate[r] . act[c]) * (up[r] . act[c]). With `quantized` (its
// buffers not act's, which the launch is still reading; ldy == rows), y is also
// quantized for the next matrix: in decode (n == 1, d_counters given) by the block
// that completes each activation block (d_counters: geglu_counters_bytes(rows) of
// zeroed device memory, left zeroed), else by one launch after.
void matmul_geglu(Stream& s, const DeviceWeight& gate, const DeviceWeight& up, const ActRows& act, int64_t n,
                  float* d_y, int64_t ldy, const ActOutput* quantized = nullptr, unsigned* d_counters = nullptr);
inline size_t geglu_counters_bytes(int64_t rows) { return static_cast<size_t>(rows / 32 + 1) * sizeof(unsigned); }
// False (and the stream failed) when matmul_geglu cannot quantize its output so.
inline bool geglu_output_ok(Stream& s, int64_t rows, int64_t ldy, const ActOutput& o) {
    if (ldy != rows || rows % act_block(o.rule) != 0) {
        s.fail("matmul_geglu: a quantized output needs ldy == rows, a whole number of activation blocks");
        return false;
    }
    return check_act_rows(s, o.rule, o.rows, "matmul_geglu");
}

// Prompts on the integer tensor cores (CUDA compute capability 8.0+): the products
// matmul and matmul_geglu compute, from the same quantized activations, with each
// 32-element group's integer dot products done by mma.m16n8k16 on 128-row by
// 64-column tiles. Those three take it themselves for prompts of 16 tokens or more
// where has_mma_matmul (GMG_GPU_MMA=0 or GMG_GPU_SAFE=1 keeps their dp4a kernels); the tests call it
// directly. False on HIP, older GPUs and for F32/F16/BF16 weights.
bool has_mma_matmul(const Stream& s, GgmlType type);
void matmul_mma(Stream& s, const DeviceWeight& w, const ActRows& act, int64_t n, float* d_y, int64_t ldy);
void matmul_geglu_mma(Stream& s, const DeviceWeight& gate, const DeviceWeight& up, const ActRows& act, int64_t n,
                      float* d_y, int64_t ldy);
// The benchmarks' ceiling for matmul_mma: `blocks` blocks of 256 threads (d_out: one
// int per thread) multiply register operands on the integer tensor cores for `rounds`
// rounds; returns the integer operations launched (2 per multiply-add), 0 where
// has_mma_matmul is false for every type.
double mma_peak_launch(Stream& s, int blocks, int rounds, int* d_out);

// y = x * rsqrt(mean(x^2) + eps) * w, for n rows of `width`.
void rms_norm(Stream& s, const float* d_x, const float* d_w, float* d_y, int64_t n, int64_t width, float eps);
// Gemma's sandwich: x += rms_norm(p) * w, row by row.
void add_rms_norm(Stream& s, float* d_x, const float* d_p, const float* d_w, int64_t n, int64_t width, float eps);
// Prompts on the tensor cores (CUDA, compute capability 7.0+): activations
// converted once to f16, each row scaled by a power of two that keeps it inside
// f16's range (tensor_activation_bytes(n, k) of device memory), then
// y[c * ldy + r] = W[r] . x[c] with weights decoded to f16 tile by tile, products
// summed in f32 and the row's scale applied at the end. False where there is no
// such path (HIP, older GPUs, F32 weights).
bool has_tensor_matmul(const Stream& s, GgmlType type);
size_t tensor_activation_bytes(int64_t n, int64_t k);
void to_tensor_activations(Stream& s, const float* d_x, int64_t n, int64_t k, void* d_out);
void matmul_tensor(Stream& s, const DeviceWeight& w, const void* d_x, int64_t n, float* d_y, int64_t ldy);

// Fused row steps for decode, where launches cost more than the work: h = rms_norm(x) * w
// and h quantized by `rule` into act, in one launch ...
// The row a fused norm keeps in shared memory must fit in 40 KiB (< the 48 KiB
// every GPU gives a block).
inline constexpr int64_t kMaxFusedRowBytes = 40 * 1024;
inline size_t fused_row_bytes(int64_t width) { return static_cast<size_t>(width) * sizeof(float); }
// The row fits in shared memory and is whole blocks.
inline bool fused_norm_fits(int64_t width, ActRule rule) {
    return width % act_block(rule) == 0 && fused_row_bytes(width) <= static_cast<size_t>(kMaxFusedRowBytes);
}
void rms_norm_quantize(Stream& s, const float* d_x, const float* d_w, float* d_h, int64_t n, int64_t width, float eps,
                       ActRule rule, const ActRows& act);
// ... and the sandwich residual followed by the next norm: x += rms_norm(p) * w_post;
// h = rms_norm(x) * w_pre; act = quantize(h).
void add_rms_norm_quantize(Stream& s, float* d_x, const float* d_p, const float* d_w_post, const float* d_w_pre,
                           float* d_h, int64_t n, int64_t width, float eps, ActRule rule, const ActRows& act);
// gate = gelu(gate) * up (llama.cpp's f16-table GELU).
void geglu(Stream& s, float* d_gate, const float* d_up, int64_t count);
// x = cap * tanh(x / cap).
void softcap(Stream& s, float* d_x, int64_t count, float cap);
// d_out[r] = the index of row r's largest value (the first of equal ones: argmax_key.h),
// for rows of n floats: the greedy pick without copying the logits back.
void argmax_rows(Stream& s, const float* d_x, int64_t rows, int64_t n, int32_t* d_out);
// Its wider sibling for sampling: the kTopCandidates best of one row of n floats as
// argmax keys (argmax_value / argmax_index), best first, zero keys after the last
// when n is smaller; so a sampler whose top-k is at most that reads 512 bytes, not
// the row. d_scratch: top_candidates_scratch_bytes(n) of device memory.
void top_candidates(Stream& s, const float* d_x, int64_t n, uint64_t* d_scratch, uint64_t* d_out);

// Where token t of a step sits: position *d_pos0 + t (read on the device, so
// that a captured decode graph replays at the next position).
struct AttentionShape {
    int64_t n_head = 0, n_head_kv = 0, head_dim = 0, n_rot = 0;
    int64_t capacity = 0;  // slots of this layer's cache ring (position p lives in slot p % capacity)
    int64_t window = 0;    // keys visible to a query, itself included; 0: all (a global layer)
};
// The keys [*lo, *p] that token t (position pos0 + t) sees: itself and the window
// before it (every attention path's range).
GMG_HOST_DEVICE inline void query_keys(const AttentionShape& a, int64_t pos0, int64_t t, int64_t* lo, int64_t* p) {
    *p = pos0 + t;
    *lo = a.window > 0 && *p - a.window + 1 > 0 ? *p - a.window + 1 : 0;
}

inline constexpr int kMaxHeadDim = 512;  // the attention kernels keep a head row in shared memory
// The shapes the attention kernels handle.
inline bool attention_shape_supported(const AttentionShape& a) {
    return a.head_dim > 0 && a.head_dim <= kMaxHeadDim && a.n_head_kv > 0 && a.n_head >= a.n_head_kv &&
           a.n_head % a.n_head_kv == 0 &&
           a.n_rot <= a.head_dim && a.n_rot % 2 == 0 && a.capacity > 0;
}
// False (and the stream failed) for any other shape.
inline bool check_attention_shape(Stream& s, const AttentionShape& a) {
    if (attention_shape_supported(a)) return true;
    s.fail("attention: unsupported head shape (head_dim must be 1..512, n_head a multiple of n_head_kv)");
    return false;
}
// Per token: QK-norm, NeoX RoPE and the attention scale on q (in place); QK-norm and
// RoPE on k; k and v stored as f16 into the cache slots of their positions.
void qk_norm_rope_store(Stream& s, const AttentionShape& a, float* d_q, const float* d_k, const float* d_v,
                        const float* d_q_norm, const float* d_k_norm, float eps, float rope_base, float freq_scale,
                        float attn_scale, uint16_t* d_kcache, uint16_t* d_vcache, int64_t n, const int32_t* d_pos0);
// Causal (and windowed) attention of n query rows over the f16 cache: out (n, n_head*head_dim).
// Three kernels (AttentionPath):
//   - split: with d_scratch (at least attention_scratch_bytes(a, n) of device memory:
//     split_attention.h) and at most kSplitMaxQueries rows, each head's keys are split
//     across blocks (flash-decoding);
//   - tiled: 16 query rows of one K/V head per block, sharing each chunk of keys
//     (tiled_attention.h; tensor cores, so CUDA sm_70+ and the emulated device);
//   - rows: one block walks each row's keys (any device, any supported shape).
// automatic takes split where it can, else tiled for more than kSplitMaxQueries rows
// where has_tiled_attention, else rows. A path asked for that cannot run fails the stream.
// With `quantized`, the output rows are also quantized for the matrix that reads them
// (as quantize_rows would): by the split path's last blocks, each its head's slice
// (when head_dim is whole activation blocks), else by one launch after the kernel.
inline constexpr int64_t kSplitMaxQueries = 4;
enum class AttentionPath { automatic, rows, split, tiled };
bool has_tiled_attention(const Stream& s, const AttentionShape& a);
void attention(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
               const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0, float* d_scratch = nullptr,
               AttentionPath path = AttentionPath::automatic, const ActOutput* quantized = nullptr);
// Whether the split path's blocks quantize their heads' slices themselves.
inline bool split_quantizes(const AttentionShape& a, const ActOutput& o) { return a.head_dim % act_block(o.rule) == 0; }

// The path attention() takes for these arguments (false, and the stream failed, when
// `want` cannot run or the call is malformed).
inline bool resolve_attention_path(Stream& s, const AttentionShape& a, int64_t n, bool have_scratch, AttentionPath want,
                                   const ActOutput* quantized, AttentionPath* path) {
    if (!check_attention_shape(s, a)) return false;
    if (quantized && !check_act_rows(s, quantized->rule, quantized->rows, "attention")) return false;
    const bool split_ok = have_scratch && n <= kSplitMaxQueries;
    if (want == AttentionPath::automatic)
        want = split_ok                                                ? AttentionPath::split
               : n > kSplitMaxQueries && has_tiled_attention(s, a)     ? AttentionPath::tiled
                                                                       : AttentionPath::rows;
    if (want == AttentionPath::split && !split_ok) {
        s.fail("attention: the split path needs scratch and at most 4 query rows");
        return false;
    }
    if (want == AttentionPath::tiled && !has_tiled_attention(s, a)) {
        s.fail("attention: no tiled kernel for this device or head shape");
        return false;
    }
    *path = want;
    return true;
}

}  // namespace gmg::gpu
