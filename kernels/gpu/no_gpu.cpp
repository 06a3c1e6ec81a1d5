// gpu_backend.h for builds without GMG_CUDA or GMG_HIP: the runtime calls report
// that this build has no GPU support; kernels are never reached (no stream can be created).
#include "kernels/gpu/gpu_backend.h"

namespace gmg::gpu {
namespace {
const char* const kNotBuilt =
    "this libgemmagguf was built without GPU support (configure with -DGMG_CUDA=ON or -DGMG_HIP=ON)";
}

const char* vendor() { return "none"; }
bool built() { return false; }
bool device_count(int* n, std::string* error) {
    *n = 0;
    *error = kNotBuilt;
    return false;
}
bool device_info(int, DeviceInfo*, std::string* error) {
    *error = kNotBuilt;
    return false;
}

DeviceBuffer::~DeviceBuffer() = default;
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&&) noexcept { return *this; }
bool DeviceBuffer::allocate(size_t, std::string* error) {
    *error = kNotBuilt;
    return false;
}
PinnedBuffer::~PinnedBuffer() = default;
bool PinnedBuffer::allocate(size_t, std::string* error) {
    *error = kNotBuilt;
    return false;
}

Stream::~Stream() = default;
bool Stream::create(int, std::string* error) {
    *error = kNotBuilt;
    return false;
}
bool Stream::activate() { return false; }
void Stream::fail(const std::string& m) {
    if (error_.empty()) error_ = m;
}
bool Stream::sync(std::string* error) {
    *error = error_.empty() ? kNotBuilt : error_;
    return false;
}
void Stream::upload(void*, const void*, size_t) { fail(kNotBuilt); }
void Stream::download(void*, const void*, size_t) { fail(kNotBuilt); }
void Stream::zero(void*, size_t) { fail(kNotBuilt); }
bool Stream::begin_capture() { return false; }
bool Stream::end_capture(Graph*) { return false; }
Timer::~Timer() = default;
void Timer::start(Stream& s) { s.fail(kNotBuilt); }
float Timer::stop_ms(Stream& s) {
    s.fail(kNotBuilt);
    return 0.0f;
}
void copy_device(Stream& s, void*, const void*, size_t) { s.fail(kNotBuilt); }
Graph::~Graph() = default;
void Graph::reset() {}
void Graph::launch(Stream& s) { s.fail(kNotBuilt); }

void quantize_rows(Stream& s, ActRule, const float*, int64_t, int64_t, const ActRows&) { s.fail(kNotBuilt); }
bool has_matmul(GgmlType) { return false; }
void matmul(Stream& s, const DeviceWeight&, const ActRows&, int64_t, float*, int64_t) { s.fail(kNotBuilt); }
void matmul_multi(Stream& s, const DeviceWeight*, float* const*, int, const ActRows&, int64_t) { s.fail(kNotBuilt); }
void matmul_geglu(Stream& s, const DeviceWeight&, const DeviceWeight&, const ActRows&, int64_t, float*, int64_t) {
    s.fail(kNotBuilt);
}
bool fused_norm_fits(int64_t, ActRule) { return false; }
bool has_tensor_matmul(const Stream&, GgmlType) { return false; }
size_t tensor_activation_bytes(int64_t, int64_t) { return 0; }
void to_tensor_activations(Stream& s, const float*, int64_t, int64_t, void*) { s.fail(kNotBuilt); }
void matmul_tensor(Stream& s, const DeviceWeight&, const void*, int64_t, float*, int64_t) { s.fail(kNotBuilt); }
void rms_norm_quantize(Stream& s, const float*, const float*, float*, int64_t, int64_t, float, ActRule, const ActRows&) {
    s.fail(kNotBuilt);
}
void add_rms_norm_quantize(Stream& s, float*, const float*, const float*, const float*, float*, int64_t, int64_t, float,
                           ActRule, const ActRows&) {
    s.fail(kNotBuilt);
}
void rms_norm(Stream& s, const float*, const float*, float*, int64_t, int64_t, float) { s.fail(kNotBuilt); }
void add_rms_norm(Stream& s, float*, const float*, const float*, int64_t, int64_t, float) { s.fail(kNotBuilt); }
void geglu(Stream& s, float*, const float*, int64_t) { s.fail(kNotBuilt); }
void softcap(Stream& s, float*, int64_t, float) { s.fail(kNotBuilt); }
void qk_norm_rope_store(Stream& s, const AttentionShape&, float*, const float*, const float*, const float*,
                        const float*, float, float, float, float, uint16_t*, uint16_t*, int64_t, const int32_t*) {
    s.fail(kNotBuilt);
}
void attention(Stream& s, const AttentionShape&, const float*, const uint16_t*, const uint16_t*, float*, int64_t,
               const int32_t*) {
    s.fail(kNotBuilt);
}

}  // namespace gmg::gpu
