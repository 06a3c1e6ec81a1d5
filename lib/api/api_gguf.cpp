// extern "C" shims over the GGUF reader and the reference decoders.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kernels/ref/dequantize.h"
#include "lib/api/api_guard.h"
#include "lib/gguf/gguf_file.h"

struct gmg_gguf {
    std::unique_ptr<gmg::gguf::GgufFile> file;
    std::vector<std::string> names;  // NUL-terminated copies handed out by gmg_gguf_tensor_info
};

using gmg::api::fail;
using gmg::api::guarded;

namespace {

gmg_status check_index(const gmg_gguf* f, int64_t index, const char* fn) {
    if (!f) return fail(GMG_ERR_INVALID_ARGUMENT, fmt::format("{}: file is NULL", fn));
    const auto n = static_cast<int64_t>(f->file->tensors().size());
    if (index < 0 || index >= n)
        return fail(GMG_ERR_INVALID_ARGUMENT, fmt::format("{}: tensor index {} is out of range [0, {})", fn, index, n));
    return GMG_OK;
}

}  // namespace

extern "C" {

gmg_status gmg_gguf_open(const char* path, gmg_gguf** out) {
    return guarded("gmg_gguf_open", [&] {
        if (!path || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_gguf_open: path and out must not be NULL");
        *out = nullptr;
        auto handle = std::make_unique<gmg_gguf>();
        if (gmg_status s = gmg::api::report(gmg::gguf::GgufFile::open(path, &handle->file)); s != GMG_OK) return s;
        for (const auto& t : handle->file->tensors()) handle->names.emplace_back(t.name);
        *out = handle.release();
        return GMG_OK;
    });
}

void gmg_gguf_close(gmg_gguf* file) { delete file; }

gmg_status gmg_gguf_tensor_count(const gmg_gguf* file, int64_t* out) {
    return guarded("gmg_gguf_tensor_count", [&] {
        if (!file || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_gguf_tensor_count: NULL argument");
        *out = static_cast<int64_t>(file->file->tensors().size());
        return GMG_OK;
    });
}

gmg_status gmg_gguf_tensor_info(const gmg_gguf* file, int64_t index, gmg_tensor_info* out) {
    return guarded("gmg_gguf_tensor_info", [&] {
        if (gmg_status s = check_index(file, index, "gmg_gguf_tensor_info"); s != GMG_OK) return s;
        if (!out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_gguf_tensor_info: out is NULL");
        const auto& t = file->file->tensors()[static_cast<size_t>(index)];
        const gmg::TypeTraits tr = gmg::traits_of(t.type);
        out->name = file->names[static_cast<size_t>(index)].c_str();
        out->type = static_cast<uint32_t>(t.type);
        out->type_name = tr.name.data();  // the traits' names are string literals
        out->n_dims = t.n_dims;
        for (int d = 0; d < 4; ++d) out->ne[d] = t.ne[d];
        out->n_elements = t.n_elements;
        out->n_bytes = t.n_bytes;
        out->file_offset = file->file->data_offset() + t.offset;
        return GMG_OK;
    });
}

gmg_status gmg_gguf_find_tensor(const gmg_gguf* file, const char* name, int64_t* index) {
    return guarded("gmg_gguf_find_tensor", [&] {
        if (!file || !name || !index) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_gguf_find_tensor: NULL argument");
        const auto* t = file->file->find_tensor(name);
        if (!t) return fail(GMG_ERR_INVALID_ARGUMENT, fmt::format("gmg_gguf_find_tensor: no tensor named '{}'", name));
        *index = t - file->file->tensors().data();
        return GMG_OK;
    });
}

gmg_status gmg_gguf_get_string(const gmg_gguf* file, const char* key, char* buf, size_t buf_size, size_t* length) {
    return guarded("gmg_gguf_get_string", [&] {
        if (!file || !key || (!buf && buf_size))
            return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_gguf_get_string: NULL argument");
        const auto value = file->file->get_string(key);
        if (!value)
            return fail(GMG_ERR_INVALID_ARGUMENT,
                        fmt::format("gmg_gguf_get_string: no string-valued metadata key '{}'", key));
        if (length) *length = value->size();
        if (buf_size) {
            const size_t n = value->size() < buf_size - 1 ? value->size() : buf_size - 1;
            value->copy(buf, n);
            buf[n] = '\0';
        }
        return GMG_OK;
    });
}

gmg_status gmg_gguf_dequantize(const gmg_gguf* file, int64_t index, float* dst, uint64_t dst_count) {
    return guarded("gmg_gguf_dequantize", [&] {
        if (gmg_status s = check_index(file, index, "gmg_gguf_dequantize"); s != GMG_OK) return s;
        const auto& t = file->file->tensors()[static_cast<size_t>(index)];
        if (!dst) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_gguf_dequantize: dst is NULL");
        if (dst_count < t.n_elements)
            return fail(GMG_ERR_INVALID_ARGUMENT,
                        fmt::format("gmg_gguf_dequantize: dst holds {} floats, tensor '{}' has {}", dst_count,
                                    std::string(t.name), t.n_elements));
        const uint64_t rows = t.n_rows();
        for (uint64_t r = 0; r < rows; ++r) {
            if (!gmg::ref::dequantize_row(t.type, t.data + r * t.row_bytes, dst + r * t.ne[0], t.ne[0]))
                return fail(GMG_ERR_UNSUPPORTED, fmt::format("gmg_gguf_dequantize: cannot decode {} tensor '{}'",
                                                             gmg::traits_of(t.type).name, std::string(t.name)));
        }
        return GMG_OK;
    });
}

}  // extern "C"
