// GGUF reader: validates a whole file up front, then offers zero-copy views.
//
// The format (versions 2 and 3, little-endian; all integers LE):
//
//   u32  magic            "GGUF" (bytes 47 47 55 46)
//   u32  version          2 or 3 (1 used u32 counts and is not supported; a
//                         big-endian file shows its version byte-swapped)
//   u64  tensor_count
//   u64  kv_count
//   kv_count  x { string key; u32 value_type; value }
//   tensor_count x { string name; u32 n_dims; u64 ne[n_dims]; u32 ggml_type; u64 offset }
//   zero padding up to a multiple of `general.alignment` (u32, default 32)
//   tensor data: tensor i starts at data_start + offset_i (a multiple of the alignment)
//
//   string  = u64 byte length + bytes (UTF-8, no terminator)
//   value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool(1 byte),
//                8 string, 9 array (u32 elem_type + u64 count + packed elements),
//                10 u64, 11 i64, 12 f64
//   ne[0] is the contiguous dimension; a tensor is ne[1]*ne[2]*ne[3] rows of ne[0].
//
// Every count, length, offset and product is checked against the file size with
// overflow-safe arithmetic before it is used, so a hostile file yields a Status
// naming what is wrong and where, never a crash or a huge allocation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kernels/common/ggml_type.h"
#include "lib/gguf/mapped_file.h"
#include "lib/util/status.h"

namespace gmg::gguf {

enum class ValueType : uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
    string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
std::string_view value_type_name(ValueType t);
size_t value_type_size(ValueType t);  // bytes of one element; 0 for string and array

// One metadata value. Scalars are decoded; arrays stay in the file (zero-copy).
struct Value {
    ValueType type = ValueType::u8;
    // Scalars: exactly one of these is meaningful, by `type`.
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0.0;
    bool b = false;
    std::string_view str;
    // Arrays: element type, count, and either packed little-endian elements
    // (numeric and bool) or the strings themselves.
    ValueType elem_type = ValueType::u8;
    uint64_t count = 0;
    const uint8_t* elems = nullptr;
    std::vector<std::string_view> strings;

    bool is_array() const { return type == ValueType::array; }
    // Numeric array element k as a double / int64 (k < count, numeric elem_type).
    double array_f64(uint64_t k) const;
    int64_t array_i64(uint64_t k) const;
};

struct KeyValue {
    std::string_view key;
    Value value;
    uint64_t file_offset = 0;  // where the entry starts, for messages
};

struct TensorInfo {
    std::string_view name;
    uint32_t n_dims = 0;
    int64_t ne[4] = {1, 1, 1, 1};  // missing dimensions are 1
    GgmlType type = GgmlType::F32;
    uint64_t offset = 0;           // relative to the data section
    uint64_t n_elements = 0;
    uint64_t n_bytes = 0;
    uint64_t row_bytes = 0;        // bytes of one row of ne[0] elements
    const uint8_t* data = nullptr; // n_bytes at data_start + offset, inside the file

    uint64_t n_rows() const { return n_elements / static_cast<uint64_t>(ne[0] ? ne[0] : 1); }
};

// Hard limits beyond "must fit in the file"; generous for any real model.
struct Limits {
    uint64_t max_string_bytes = 1ull << 30;
    uint64_t max_array_count = 1ull << 30;
    uint64_t max_tensors = 1ull << 20;
    uint64_t max_kv = 1ull << 20;
    uint64_t max_name_bytes = 256;  // tensor names (ggml itself allows 63)
    uint32_t max_alignment = 1u << 20;
};

class GgufFile {
public:
    struct Options {
        MappedFile::Mode mode = MappedFile::Mode::mmap_or_read;
        Limits limits;
    };

    // Opens and fully validates `path`.
    static Status open(const std::string& path, const Options& options, std::unique_ptr<GgufFile>* out);
    static Status open(const std::string& path, std::unique_ptr<GgufFile>* out) { return open(path, Options{}, out); }
    // Parses bytes the caller keeps alive for the lifetime of the result (fuzzing, embedded models).
    static Status parse(const uint8_t* data, size_t size, const Limits& limits, std::unique_ptr<GgufFile>* out);

    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    uint64_t file_size() const { return size_; }
    // Drops the resident pages wholly inside [p, p + n) (see MappedFile::release).
    void release_pages(const uint8_t* p, size_t n) const {
        if (file_) file_->release(p, n);
    }
    const uint8_t* bytes() const { return bytes_; }

    std::span<const KeyValue> metadata() const { return kvs_; }
    std::span<const TensorInfo> tensors() const { return tensors_; }
    const KeyValue* find(std::string_view key) const;
    const TensorInfo* find_tensor(std::string_view name) const;

    // Typed lookups: nullopt if the key is missing or has another type.
    std::optional<std::string_view> get_string(std::string_view key) const;
    std::optional<uint64_t> get_uint(std::string_view key) const;  // any unsigned or non-negative signed int
    std::optional<double> get_float(std::string_view key) const;    // f32 or f64
    std::optional<bool> get_bool(std::string_view key) const;

private:
    GgufFile() = default;
    friend class Parser;

    std::unique_ptr<MappedFile> file_;  // null when parsing caller-owned bytes
    const uint8_t* bytes_ = nullptr;
    uint64_t size_ = 0;
    uint32_t version_ = 0;
    uint32_t alignment_ = 32;
    uint64_t data_offset_ = 0;
    std::vector<KeyValue> kvs_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string_view, size_t> kv_index_;
    std::unordered_map<std::string_view, size_t> tensor_index_;
};

}  // namespace gmg::gguf
