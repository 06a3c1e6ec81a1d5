#include "lib/runtime/gemma3_context.h"

#include <algorithm>
#include <cmath>

#include <omp.h>
#include <Eigen/Core>
#include <fmt/format.h>

#include "kernels/common/half.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/geglu.h"
#include "kernels/ref/dequantize.h"
#include "lib/runtime/reference_ops.h"
#include "lib/runtime/sampler.h"

namespace gmg {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The reference product: y (n, w.rows) = x (n, w.cols) . w^T, x first rounded
// as llama.cpp rounds the activations for w's type. Every product of a decoded
// weight and a rounded activation is exact in double, and so is their sum to
// within far less than a float ulp: the exactly rounded dot product. Weight
// rows are decoded chunk by chunk, in parallel.
void reference_matmul(const Weight& w, const float* x, int64_t n, float* y, int n_threads) {
    const int64_t K = w.view.cols, N = w.view.rows;
    std::vector<float> xq(x, x + n * K);
    for (int64_t t = 0; t < n; ++t) cpu::round_activations(w.view.type, xq.data() + t * K, K);
    const Eigen::MatrixXd X = Eigen::Map<const RowMatrix>(xq.data(), n, K).cast<double>();
    Eigen::Map<RowMatrix> Y(y, n, N);
    const int64_t chunk = 256;
#pragma omp parallel num_threads(n_threads)
    {
        RowMatrix rows_f32;
#pragma omp for schedule(dynamic, 1)
        for (int64_t r0 = 0; r0 < N; r0 += chunk) {
            const int64_t rows = std::min<int64_t>(chunk, N - r0);
            rows_f32.resize(rows, K);
            for (int64_t r = 0; r < rows; ++r)
                ref::dequantize_row(w.view.type, w.view.data + static_cast<size_t>(r0 + r) * w.view.row_bytes,
                                    rows_f32.data() + r * K, K);
            Y.middleCols(r0, rows) = (X * rows_f32.cast<double>().transpose()).cast<float>();
        }
    }
}

// The oracle for cpu::attend_head: the same roundings (q and the probabilities
// through f16), every sum in double.
void reference_attend_head(const float* q, int64_t d, const cpu::KvRows& kv, int64_t lo, int64_t hi, float* scores,
                           float* out) {
    std::vector<double> q16(static_cast<size_t>(d)), acc(static_cast<size_t>(d), 0.0);
    for (int64_t i = 0; i < d; ++i) q16[static_cast<size_t>(i)] = ops::round_f16(q[i]);
    for (int64_t j = lo; j <= hi; ++j) {
        const uint16_t* kj = kv.k + (j % kv.capacity) * kv.stride;
        double s = 0.0;  // f16 x f16 products are exact; so is their double sum, nearly
        for (int64_t i = 0; i < d; ++i) s += q16[static_cast<size_t>(i)] * f16_to_f32(kj[i]);
        scores[j - lo] = static_cast<float>(s);
    }
    ops::softmax(scores, hi - lo + 1);
    for (int64_t j = lo; j <= hi; ++j) {
        const double pj = ops::round_f16(scores[j - lo]);
        const uint16_t* vj = kv.v + (j % kv.capacity) * kv.stride;
        for (int64_t i = 0; i < d; ++i) acc[static_cast<size_t>(i)] += pj * f16_to_f32(vj[i]);
    }
    for (int64_t i = 0; i < d; ++i) out[i] = static_cast<float>(acc[static_cast<size_t>(i)]);
}

}  // namespace

Gemma3Context::Gemma3Context(const Gemma3Model& m, const Options& o)
    : model_(m),
      cfg_(m.config()),
      n_ctx_(o.n_ctx > 0 ? o.n_ctx : m.config().n_ctx_train),
      n_batch_(o.n_batch),
      n_threads_(o.n_threads > 0 ? o.n_threads : omp_get_max_threads()),
      cpu_layers_(m.gpu() ? m.gpu()->first_layer() : m.config().n_layer),
      reference_(o.reference),
      isa_(o.reference ? cpu::Isa::scalar
                       : o.isa ? cpu::cap_isa(*o.isa)
                               : cpu::active_isa()),
      cache_(cpu_layers_ > 0 ? KvCache(m.config(), n_ctx_, n_batch_, cpu_layers_) : KvCache()) {
    if (cpu_layers_ == 0) return;  // the GPU context keeps its own cache and scratch
    const size_t B = static_cast<size_t>(n_batch_);
    x_.resize(B * cfg_.n_embd);
    h_.resize(B * cfg_.n_embd);
    q_.resize(B * cfg_.q_dim());
    k_.resize(B * cfg_.kv_dim());
    v_.resize(B * cfg_.kv_dim());
    attn_.resize(B * cfg_.q_dim());
    proj_.resize(B * cfg_.n_embd);
    gate_.resize(B * cfg_.n_ff);
    up_.resize(B * cfg_.n_ff);
}

Status Gemma3Context::create(const Gemma3Model& model, const Options& options, std::unique_ptr<Gemma3Context>* out) {
    const Gemma3Config& c = model.config();
    if (options.n_ctx < 0 || options.n_ctx > c.n_ctx_train)
        return {StatusCode::invalid_argument,
                fmt::format("context length {} is outside 1..{} (the model's maximum)", options.n_ctx, c.n_ctx_train)};
    if (options.n_batch < 1 || options.n_batch > 8192)
        return {StatusCode::invalid_argument, fmt::format("batch size {} is outside 1..8192", options.n_batch)};
    if (options.n_threads < 0) return {StatusCode::invalid_argument, "thread count must not be negative"};
    std::unique_ptr<Gemma3Context> ctx(new Gemma3Context(model, options));
    if (model.gpu())
        if (Status s = GpuContext::create(model, ctx->n_ctx_, ctx->n_batch_, &ctx->gpu_); !s.ok()) return s;
    *out = std::move(ctx);
    return Status::success();
}

Status Gemma3Context::truncate(int64_t n) {
    if (n < 0 || n > n_past_)
        return {StatusCode::invalid_argument, fmt::format("cannot truncate to {} positions: the cache holds {}", n, n_past_)};
    for (int64_t il = 0; il < cfg_.n_layer; ++il) {
        if (cfg_.is_global(il) || n == 0) continue;
        // Queries at n and later need keys from n - window + 1; the ring must still hold them.
        const int64_t need = std::max<int64_t>(0, n - cfg_.sliding_window + 1);
        const int64_t oldest_kept = std::max<int64_t>(0, n_past_ - KvCache::layer_capacity(cfg_, il, n_ctx_, n_batch_));
        if (oldest_kept > need)
            return {StatusCode::invalid_argument,
                    fmt::format("cannot rewind the sliding-window cache from {} to {} positions; reset instead", n_past_, n)};
    }
    n_past_ = n;
    return Status::success();
}

Status Gemma3Context::decode(std::span<const TokenId> tokens, bool all_logits, std::vector<float>* logits,
                             TokenId* greedy, std::vector<std::pair<float, TokenId>>* ranked) {
    if (tokens.empty()) return {StatusCode::invalid_argument, "decode: no tokens"};
    if (n_past_ + static_cast<int64_t>(tokens.size()) > n_ctx_)
        return {StatusCode::context_full,
                fmt::format("decode: {} tokens after {} already in the cache exceed the context length {}",
                            tokens.size(), n_past_, n_ctx_)};
    const Vocab& vocab = model_.vocab();
    for (TokenId t : tokens)
        if (!vocab.valid(t))
            return {StatusCode::invalid_argument, fmt::format("decode: token id {} is outside 0..{}", t, vocab.size() - 1)};
    const int64_t V = cfg_.n_vocab;
    const auto total = static_cast<int64_t>(tokens.size());
    if (ranked) ranked->clear();  // filled below, unless a greedy pick is asked for too
    std::vector<float> last_row;  // the CPU path's greedy pick and ranking need the last row's logits
    if ((greedy || ranked) && !logits && !gpu_) logits = &last_row, all_logits = false;
    if (logits) logits->resize(static_cast<size_t>((all_logits ? total : 1) * V));
    for (int64_t start = 0; start < total; start += n_batch_) {
        const int64_t n = std::min(n_batch_, total - start);
        const bool last_chunk = start + n == total;
        float* out = nullptr;
        if (logits && all_logits) out = logits->data() + start * V;
        else if (logits && last_chunk) out = logits->data();
        if (gpu_) {
            const float* hidden = nullptr;  // partial offload: the CPU's layers first
            if (cpu_layers_ > 0) forward_layers(tokens.data() + start, n), hidden = x_.data();
            if (Status s = gpu_->forward(tokens.data() + start, hidden, n, n_past_, all_logits, out,
                                         last_chunk ? greedy : nullptr, last_chunk ? ranked : nullptr);
                !s.ok())
                return s;
        } else {
            forward_layers(tokens.data() + start, n);
            if (out) forward_head(n, all_logits, out);
        }
        n_past_ += n;
    }
    const std::span<const float> last({logits ? logits->data() + (all_logits ? total - 1 : 0) * V : nullptr,
                                       logits ? static_cast<size_t>(V) : 0});
    if (greedy && !gpu_) *greedy = greedy_token(last);
    if (ranked && logits) {  // ranked on the host from the row (a GPU ranks when there are no logits)
        RankedCandidates r;
        r.reset(last, kDeviceCandidates);
        for (size_t i = 0; i < r.size(); ++i) ranked->push_back(r.at(i));
    }
    return Status::success();
}

template <class F>
void Gemma3Context::per_token(int64_t n, F&& f) const {
#pragma omp parallel for num_threads(n_threads_) schedule(static) if (n > 1)
    for (int64_t t = 0; t < n; ++t) f(t);
}

void Gemma3Context::forward_layers(const TokenId* tokens, int64_t n) {
    const Gemma3Config& c = cfg_;
    const int64_t E = c.n_embd, Q = c.q_dim(), KV = c.kv_dim(), D = c.head_dim, F = c.n_ff;
    const int64_t pos0 = n_past_;

    model_.embed(tokens, n, x_.data());

    for (int64_t il = 0; il < cpu_layers_; ++il) {
        const Gemma3Layer& L = model_.layers()[static_cast<size_t>(il)];
        const bool global = c.is_global(il);
        const float base = global ? c.rope_base_global : c.rope_base_local;
        const float freq_scale = global ? c.rope_freq_scale_global : 1.0f;

        per_token(n, [&](int64_t t) { ops::rms_norm(&x_[t * E], L.attn_norm.data(), &h_[t * E], E, c.rms_eps); });
        set_input(h_.data(), n, E);
        project_all({{&L.wq, q_.data()}, {&L.wk, k_.data()}, {&L.wv, v_.data()}});
        per_token(n, [&](int64_t t) {
            for (int64_t hd = 0; hd < c.n_head; ++hd) {
                float* qh = q_.data() + t * Q + hd * D;
                ops::rms_norm(qh, L.q_norm.data(), qh, D, c.rms_eps);
                ops::rope_neox(qh, c.n_rot, pos0 + t, base, freq_scale);
                for (int64_t d = 0; d < D; ++d) qh[d] *= c.attn_scale;
            }
            for (int64_t hd = 0; hd < c.n_head_kv; ++hd) {
                float* kh = k_.data() + t * KV + hd * D;
                ops::rms_norm(kh, L.k_norm.data(), kh, D, c.rms_eps);
                ops::rope_neox(kh, c.n_rot, pos0 + t, base, freq_scale);
            }
            uint16_t* kc = cache_.k(il, pos0 + t);
            uint16_t* vc = cache_.v(il, pos0 + t);
            for (int64_t i = 0; i < KV; ++i) {
                kc[i] = f32_to_f16(k_[static_cast<size_t>(t * KV + i)]);
                vc[i] = f32_to_f16(v_[static_cast<size_t>(t * KV + i)]);
            }
        });
        attention(il, n, pos0);
        set_input(attn_.data(), n, Q);
        project(L.wo, proj_.data());
        add_post_normed(L.post_attn_norm, n);
        per_token(n, [&](int64_t t) { ops::rms_norm(&x_[t * E], L.ffn_norm.data(), &h_[t * E], E, c.rms_eps); });
        set_input(h_.data(), n, E);
        project_all({{&L.gate, gate_.data()}, {&L.up, up_.data()}});
        per_token(n, [&](int64_t t) {
            if (reference_) ops::geglu(&gate_[t * F], &up_[t * F], &gate_[t * F], F);
            else cpu::geglu(&gate_[t * F], &up_[t * F], &gate_[t * F], F, isa_);
        });
        set_input(gate_.data(), n, F);
        project(L.down, proj_.data());
        add_post_normed(L.post_ffw_norm, n);
    }
}

void Gemma3Context::forward_head(int64_t n, bool all_logits, float* logits) {
    const Gemma3Config& c = cfg_;
    const int64_t E = c.n_embd;
    // LM head only for the positions whose logits are wanted.
    const int64_t first = all_logits ? 0 : n - 1;
    const int64_t m = n - first;
    for (int64_t t = 0; t < m; ++t)
        ops::rms_norm(x_.data() + (first + t) * E, model_.output_norm().data(), h_.data() + t * E, E, c.rms_eps);
    set_input(h_.data(), m, E);
    project(model_.lm_head(), logits);
    if (c.final_logit_softcap > 0.0f) {
        const float cap = c.final_logit_softcap;
        for (int64_t i = 0; i < m * c.n_vocab; ++i) logits[i] = cap * std::tanh(logits[i] / cap);
    }
}

void Gemma3Context::set_input(const float* x, int64_t n, int64_t k) {
    input_x_ = x;
    input_n_ = n;
    if (!reference_) input_.reset(x, n, k, isa_, n_threads_);
}

// Prompts and decode take the repacked copy where the type has one.
cpu::MatmulJob Gemma3Context::job_for(const Weight& w, float* y) {
    const GgmlType t = w.view.type;
    if (model_.prompt_repack())
        if (const cpu::RepackedWeights* r = w.repacked(isa_, n_threads_))
            return {nullptr, r, input_.get(t), cpu::repacked_needs_block_sums(t, isa_) ? input_.block_sums(t) : nullptr,
                    input_n_, y, w.view.rows};
    return {&w.view, nullptr, input_.get(t), nullptr, input_n_, y, w.view.rows};
}

void Gemma3Context::project(const Weight& w, float* y) { project_all({{&w, y}}); }

void Gemma3Context::project_all(std::initializer_list<Projection> projections) {
    if (reference_) {
        for (const Projection& p : projections) reference_matmul(*p.w, input_x_, input_n_, p.y, n_threads_);
        return;
    }
    std::vector<cpu::MatmulJob> jobs;
    jobs.reserve(projections.size());
    for (const Projection& p : projections) jobs.push_back(job_for(*p.w, p.y));
    cpu::matmul_batch(jobs, isa_, n_threads_);
}

// Gemma's sandwich norm: x += rmsnorm(proj) * w, for each of n tokens.
void Gemma3Context::add_post_normed(const std::vector<float>& w, int64_t n) {
    const int64_t E = cfg_.n_embd;
    per_token(n, [&](int64_t t) {
        float* xt = &x_[t * E];
        float* pt = &proj_[t * E];
        ops::rms_norm(pt, w.data(), pt, E, cfg_.rms_eps);
        for (int64_t i = 0; i < E; ++i) xt[i] = pt[i] + xt[i];
    });
}

// Causal attention (plus the sliding window on local layers) over the f16 cache,
// with llama.cpp's non-flash roundings: q and the probabilities go through f16.
void Gemma3Context::attention(int64_t il, int64_t n, int64_t pos0) {
    const Gemma3Config& c = cfg_;
    const int64_t Q = c.q_dim(), KV = c.kv_dim(), D = c.head_dim, group = c.n_head / c.n_head_kv;
    const bool global = c.is_global(il);
    const auto visible_from = [&](int64_t p) { return global ? 0 : std::max<int64_t>(0, p - c.sliding_window + 1); };
    const auto kv_rows = [&](int64_t kvh) {  // KV head kvh's cached rows
        return cpu::KvRows{cache_.k(il, 0) + kvh * D, cache_.v(il, 0) + kvh * D, cache_.capacity(il), KV};
    };
    if (n == 1 && !reference_ && c.n_head_kv < n_threads_) {
        // One token with fewer KV heads than threads (Gemma3-1B: one, for four
        // query heads): its cached positions are split across the threads, each
        // cached row read once for all the heads of its KV head. Same bits as one
        // thread (attend_tile).
        const int64_t hi = pos0, lo = visible_from(pos0);
        for (int64_t kvh = 0; kvh < c.n_head_kv; ++kvh) {
            const int64_t h0 = kvh * group;
            cpu::attend_tile({q_.data() + h0 * D, attn_.data() + h0 * D, 1, group, Q, &lo, &hi}, D, kv_rows(kvh), isa_,
                             n_threads_);
        }
        return;
    }
    // A work item is a tile of up to kTileTokens tokens and the query heads that
    // share a KV head: each cached row is read once for all of them. With fewer
    // items than threads the heads are split further (and the reference path
    // splits one token's heads so). The tiles run from the last (largest range)
    // to the first, so that the long ones do not end up last on one thread. Per
    // head the result is the same.
    constexpr int64_t kTileTokens = 4;
    const int64_t tile = n >= 4 * kTileTokens * n_threads_ ? kTileTokens : 1;
    const int64_t tiles = (n + tile - 1) / tile;
    int64_t splits = 1;
    while (tiles * c.n_head_kv * splits < n_threads_ && group % (2 * splits) == 0) splits *= 2;
    const int64_t heads = group / splits, items = c.n_head_kv * splits;
#pragma omp parallel for num_threads(n_threads_) schedule(dynamic, 1) collapse(2)
    for (int64_t rt = 0; rt < tiles; ++rt) {
        for (int64_t item = 0; item < items; ++item) {
            const int64_t t0 = (tiles - 1 - rt) * tile, tn = std::min(tile, n - t0);
            const int64_t h0 = item * heads, kvh = h0 / group;
            const cpu::KvRows rows = kv_rows(kvh);
            int64_t lo[kTileTokens], hi[kTileTokens];
            for (int64_t t = 0; t < tn; ++t) hi[t] = pos0 + t0 + t, lo[t] = visible_from(hi[t]);
            const float* qh = q_.data() + t0 * Q + h0 * D;
            float* dst = attn_.data() + t0 * Q + h0 * D;
            if (reference_) {
                std::vector<float> scratch;
                for (int64_t t = 0; t < tn; ++t) {
                    scratch.resize(static_cast<size_t>(hi[t] - lo[t] + 1));
                    for (int64_t h = 0; h < heads; ++h)
                        reference_attend_head(qh + t * Q + h * D, D, rows, lo[t], hi[t], scratch.data(), dst + t * Q + h * D);
                }
            } else {
                cpu::attend_tile({qh, dst, tn, heads, Q, lo, hi}, D, rows, isa_);
            }
        }
    }
}

}  // namespace gmg
