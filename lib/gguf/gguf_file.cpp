#include "lib/gguf/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "lib/util/printable.h"

namespace gmg::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;               // key length, 1-byte key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name length, name, n_dims, ne[0], type, offset

// Thrown inside the parser only; GgufFile::parse turns it into a Status.
struct ParseError {
    StatusCode code;
    std::string message;
};

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

std::string_view value_type_name(ValueType t) {
    switch (t) {
        case ValueType::u8: return "u8";
        case ValueType::i8: return "i8";
        case ValueType::u16: return "u16";
        case ValueType::i16: return "i16";
        case ValueType::u32: return "u32";
        case ValueType::i32: return "i32";
        case ValueType::f32: return "f32";
        case ValueType::boolean: return "bool";
        case ValueType::string: return "string";
        case ValueType::array: return "array";
        case ValueType::u64: return "u64";
        case ValueType::i64: return "i64";
        case ValueType::f64: return "f64";
    }
    return "?";
}

size_t value_type_size(ValueType t) {
    switch (t) {
        case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
        case ValueType::u16: case ValueType::i16: return 2;
        case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
        case ValueType::u64: case ValueType::i64: case ValueType::f64: return 8;
        case ValueType::string: case ValueType::array: return 0;
    }
    return 0;
}

static bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::f64); }

// Decodes one little-endian scalar of type t at p into the matching Value fields.
static void decode_scalar(ValueType t, const uint8_t* p, Value* v) {
    auto load = [p](auto zero) {
        decltype(zero) x;
        std::memcpy(&x, p, sizeof x);
        return x;
    };
    switch (t) {
        case ValueType::u8: v->u = load(uint8_t{}); break;
        case ValueType::u16: v->u = load(uint16_t{}); break;
        case ValueType::u32: v->u = load(uint32_t{}); break;
        case ValueType::u64: v->u = load(uint64_t{}); break;
        case ValueType::i8: v->i = load(int8_t{}); break;
        case ValueType::i16: v->i = load(int16_t{}); break;
        case ValueType::i32: v->i = load(int32_t{}); break;
        case ValueType::i64: v->i = load(int64_t{}); break;
        case ValueType::f32: v->f = load(float{}); break;
        case ValueType::f64: v->f = load(double{}); break;
        case ValueType::boolean: v->b = load(uint8_t{}) != 0; break;
        case ValueType::string: case ValueType::array: break;
    }
}

double Value::array_f64(uint64_t k) const {
    Value v;
    decode_scalar(elem_type, elems + k * value_type_size(elem_type), &v);
    switch (elem_type) {
        case ValueType::f32: case ValueType::f64: return v.f;
        case ValueType::i8: case ValueType::i16: case ValueType::i32: case ValueType::i64: return static_cast<double>(v.i);
        case ValueType::boolean: return v.b ? 1.0 : 0.0;
        default: return static_cast<double>(v.u);
    }
}

int64_t Value::array_i64(uint64_t k) const {
    Value v;
    decode_scalar(elem_type, elems + k * value_type_size(elem_type), &v);
    switch (elem_type) {
        case ValueType::f32: case ValueType::f64: return static_cast<int64_t>(v.f);
        case ValueType::i8: case ValueType::i16: case ValueType::i32: case ValueType::i64: return v.i;
        case ValueType::boolean: return v.b ? 1 : 0;
        default: return static_cast<int64_t>(v.u);
    }
}

class Parser {
public:
    Parser(const uint8_t* data, size_t size, const Limits& limits, GgufFile* out)
        : p_(data), size_(size), limits_(limits), out_(out) {}

    void run() {
        read_header();
        read_metadata();
        read_alignment();
        read_tensor_infos();
        place_tensor_data();
    }

private:
    const uint8_t* p_;
    uint64_t size_;
    uint64_t pos_ = 0;
    const Limits& limits_;
    GgufFile* out_;
    uint64_t n_tensors_ = 0, n_kv_ = 0;

    [[noreturn]] void fail(StatusCode code, std::string message) { throw ParseError{code, std::move(message)}; }
    [[noreturn]] void bad(std::string message) { fail(StatusCode::invalid_file, std::move(message)); }

    uint64_t left() const { return size_ - pos_; }

    void need(uint64_t n, std::string_view what) {
        if (n > left())
            bad(fmt::format("at byte {}: {} needs {} bytes but the file ends after {} more (file is {} bytes)", pos_,
                            what, n, left(), size_));
    }

    template <class T>
    T read(std::string_view what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, p_ + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }

    std::string_view read_string(std::string_view what) {
        const uint64_t at = pos_;
        const uint64_t len = read<uint64_t>(what);
        if (len > limits_.max_string_bytes)
            bad(fmt::format("at byte {}: {}: string length {} exceeds the limit of {} bytes", at, what, len,
                            limits_.max_string_bytes));
        if (len > left())
            bad(fmt::format("at byte {}: {}: string length {} runs past the end of the file ({} bytes left)", at,
                            what, len, left()));
        std::string_view s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(len));
        pos_ += len;
        return s;
    }

    // A count read from the file, bounded by a hard limit and by how many
    // entries of at least min_bytes each the rest of the file could hold.
    uint64_t read_count(std::string_view what, uint64_t limit, uint64_t min_bytes) {
        const uint64_t at = pos_;
        const uint64_t n = read<uint64_t>(what);
        if (n > limit) bad(fmt::format("at byte {}: {} is {}, above the limit of {}", at, what, n, limit));
        if (n > left() / min_bytes)
            bad(fmt::format("at byte {}: {} is {}, but only {} bytes remain in the file", at, what, n, left()));
        return n;
    }

    void read_header() {
        need(4, "the GGUF magic");
        const uint32_t magic = read<uint32_t>("the GGUF magic");
        if (magic != kMagic)
            bad(fmt::format("not a GGUF file: the first bytes are {:02x} {:02x} {:02x} {:02x}, expected 47 47 55 46 "
                            "(\"GGUF\")",
                            p_[0], p_[1], p_[2], p_[3]));
        const uint32_t version = read<uint32_t>("the GGUF version");
        if (version != 0 && (version & 0xffffu) == 0)
            fail(StatusCode::unsupported,
                 fmt::format("big-endian GGUF files are not supported (version field reads {:#x})", version));
        if (version == 1)
            fail(StatusCode::unsupported, "GGUF version 1 is not supported (only versions 2 and 3); re-convert the model");
        if (version < 2 || version > 3)
            fail(StatusCode::unsupported, fmt::format("GGUF version {} is not supported (only versions 2 and 3)", version));
        out_->version_ = version;
        n_tensors_ = read_count("the tensor count", limits_.max_tensors, kMinTensorInfoBytes);
        n_kv_ = read_count("the metadata key count", limits_.max_kv, kMinKvBytes);
    }

    void read_value(ValueType type, Value* v, const std::string& ctx) {
        v->type = type;
        switch (type) {
            case ValueType::string:
                v->str = read_string(ctx);
                return;
            case ValueType::array:
                read_array(v, ctx);
                return;
            default: {
                const size_t n = value_type_size(type);
                need(n, ctx);
                decode_scalar(type, p_ + pos_, v);
                pos_ += n;
            }
        }
    }

    void read_array(Value* v, const std::string& ctx) {
        const uint64_t at = pos_;
        const uint32_t elem = read<uint32_t>(ctx + ": array element type");
        if (elem == static_cast<uint32_t>(ValueType::array))
            bad(fmt::format("at byte {}: {}: nested arrays are not supported", at, ctx));
        if (!known_value_type(elem))
            bad(fmt::format("at byte {}: {}: unknown array element type {}", at, ctx, elem));
        v->elem_type = static_cast<ValueType>(elem);
        if (v->elem_type == ValueType::string) {
            v->count = read_count(ctx + ": array length", limits_.max_array_count, 8);
            v->strings.reserve(static_cast<size_t>(v->count));
            for (uint64_t k = 0; k < v->count; ++k) v->strings.push_back(read_string(ctx));
            return;
        }
        const size_t elem_size = value_type_size(v->elem_type);
        v->count = read_count(ctx + ": array length", limits_.max_array_count, elem_size);
        v->elems = p_ + pos_;
        pos_ += v->count * elem_size;  // cannot overflow: count <= left() / elem_size
    }

    void read_metadata() {
        out_->kvs_.reserve(static_cast<size_t>(n_kv_));
        for (uint64_t k = 0; k < n_kv_; ++k) {
            KeyValue kv;
            kv.file_offset = pos_;
            kv.key = read_string(fmt::format("key of metadata entry #{}", k));
            if (kv.key.empty()) bad(fmt::format("at byte {}: metadata entry #{} has an empty key", kv.file_offset, k));
            const std::string ctx = fmt::format("metadata key '{}'", printable(kv.key));
            const uint64_t type_at = pos_;
            const uint32_t type = read<uint32_t>(ctx + ": value type");
            if (!known_value_type(type)) bad(fmt::format("at byte {}: {}: unknown value type {}", type_at, ctx, type));
            read_value(static_cast<ValueType>(type), &kv.value, ctx);
            if (!out_->kv_index_.emplace(kv.key, out_->kvs_.size()).second)
                bad(fmt::format("at byte {}: duplicate {}", kv.file_offset, ctx));
            out_->kvs_.push_back(std::move(kv));
        }
    }

    void read_alignment() {
        const KeyValue* kv = out_->find("general.alignment");
        if (!kv) return;
        if (kv->value.type != ValueType::u32)
            bad(fmt::format("at byte {}: metadata key 'general.alignment' must be u32, not {}", kv->file_offset,
                            value_type_name(kv->value.type)));
        const uint64_t a = kv->value.u;
        if (!is_power_of_two(a) || a > limits_.max_alignment)
            bad(fmt::format("at byte {}: general.alignment = {} is not a power of two between 1 and {}",
                            kv->file_offset, a, limits_.max_alignment));
        out_->alignment_ = static_cast<uint32_t>(a);
    }

    void read_tensor_infos() {
        out_->tensors_.reserve(static_cast<size_t>(n_tensors_));
        for (uint64_t k = 0; k < n_tensors_; ++k) {
            const uint64_t at = pos_;
            TensorInfo t;
            t.name = read_string(fmt::format("name of tensor #{}", k));
            if (t.name.empty()) bad(fmt::format("at byte {}: tensor #{} has an empty name", at, k));
            const std::string ctx = fmt::format("tensor #{} '{}'", k, printable(t.name));
            if (t.name.size() > limits_.max_name_bytes)
                bad(fmt::format("at byte {}: {}: name is {} bytes, above the limit of {}", at, ctx, t.name.size(),
                                limits_.max_name_bytes));
            t.n_dims = read<uint32_t>(ctx + ": n_dims");
            if (t.n_dims == 0 || t.n_dims > 4)
                bad(fmt::format("at byte {}: {}: n_dims is {}, must be 1 to 4", at, ctx, t.n_dims));
            for (uint32_t d = 0; d < t.n_dims; ++d) {
                t.ne[d] = read<int64_t>(ctx + ": dimension");
                if (t.ne[d] < 0) bad(fmt::format("at byte {}: {}: dimension {} is negative ({})", at, ctx, d, t.ne[d]));
            }
            const uint32_t type_id = read<uint32_t>(ctx + ": type");
            const std::optional<TypeTraits> tr = type_traits(type_id);
            if (!tr) fail(StatusCode::unsupported, fmt::format("at byte {}: {}: unknown tensor type id {}", at, ctx, type_id));
            t.type = tr->type;
            t.offset = read<uint64_t>(ctx + ": data offset");
            size_tensor(&t, *tr, at, ctx);
            if (!out_->tensor_index_.emplace(t.name, out_->tensors_.size()).second)
                bad(fmt::format("at byte {}: duplicate tensor name '{}'", at, printable(t.name)));
            out_->tensors_.push_back(t);
        }
    }

    void size_tensor(TensorInfo* t, const TypeTraits& tr, uint64_t at, const std::string& ctx) {
        uint64_t elements = 1;
        for (int d = 0; d < 4; ++d) {
            if (__builtin_mul_overflow(elements, static_cast<uint64_t>(t->ne[d]), &elements) ||
                elements > static_cast<uint64_t>(INT64_MAX))
                bad(fmt::format("at byte {}: {}: element count {}x{}x{}x{} overflows", at, ctx, t->ne[0], t->ne[1],
                                t->ne[2], t->ne[3]));
        }
        if (t->ne[0] % tr.block_elems != 0)
            bad(fmt::format("at byte {}: {}: row length {} is not a multiple of the {} block size {}", at, ctx,
                            t->ne[0], tr.name, tr.block_elems));
        t->n_elements = elements;
        const uint64_t rows = t->ne[0] ? elements / static_cast<uint64_t>(t->ne[0]) : 0;
        if (__builtin_mul_overflow(static_cast<uint64_t>(t->ne[0]) / tr.block_elems, tr.block_bytes, &t->row_bytes) ||
            __builtin_mul_overflow(t->row_bytes, rows, &t->n_bytes))
            bad(fmt::format("at byte {}: {}: byte size overflows", at, ctx));
    }

    void place_tensor_data() {
        const uint64_t a = out_->alignment_;
        uint64_t data_start = (pos_ + a - 1) / a * a;  // pos_ <= size_ < 2^63 and a <= 2^20: no overflow
        out_->data_offset_ = data_start;
        if (n_tensors_ == 0) return;
        if (data_start > size_)
            bad(fmt::format("the tensor data section would start at byte {}, past the end of the file ({} bytes)",
                            data_start, size_));
        const uint64_t data_size = size_ - data_start;
        for (TensorInfo& t : out_->tensors_) {
            const std::string name = printable(t.name);
            if (t.offset % a != 0)
                bad(fmt::format("tensor '{}': data offset {} is not a multiple of the alignment {}", name, t.offset, a));
            if (t.offset > data_size || t.n_bytes > data_size - t.offset)
                bad(fmt::format("tensor '{}': data [{}, +{} bytes) at file byte {} runs past the end of the file ({} "
                                "bytes)",
                                name, t.offset, t.n_bytes, data_start + std::min(t.offset, data_size), size_));
            t.data = p_ + data_start + t.offset;
            const TypeTraits tr = traits_of(t.type);
            if (reinterpret_cast<uintptr_t>(t.data) % tr.align != 0)
                bad(fmt::format("tensor '{}': data at file byte {} is misaligned for {} (needs {}-byte alignment)",
                                name, data_start + t.offset, tr.name, tr.align));
        }
        std::vector<const TensorInfo*> by_offset;
        for (const TensorInfo& t : out_->tensors_)
            if (t.n_bytes) by_offset.push_back(&t);
        std::sort(by_offset.begin(), by_offset.end(),
                  [](const TensorInfo* x, const TensorInfo* y) { return x->offset < y->offset; });
        for (size_t k = 1; k < by_offset.size(); ++k) {
            const TensorInfo& prev = *by_offset[k - 1];
            if (prev.offset + prev.n_bytes > by_offset[k]->offset)
                bad(fmt::format("tensors '{}' and '{}' overlap in the data section", printable(prev.name),
                                printable(by_offset[k]->name)));
        }
    }
};

Status GgufFile::parse(const uint8_t* data, size_t size, const Limits& limits, std::unique_ptr<GgufFile>* out) {
    if (!out || (!data && size)) return {StatusCode::invalid_argument, "GgufFile::parse: null argument"};
    try {
        std::unique_ptr<GgufFile> file(new GgufFile());
        file->bytes_ = data;
        file->size_ = size;
        Parser(data, size, limits, file.get()).run();
        *out = std::move(file);
        return Status::success();
    } catch (const ParseError& e) {
        return {e.code, e.message};
    } catch (const std::bad_alloc&) {
        return {StatusCode::out_of_memory, "out of memory while reading the GGUF header"};
    }
}

Status GgufFile::open(const std::string& path, const Options& options, std::unique_ptr<GgufFile>* out) {
    std::unique_ptr<MappedFile> mapped;
    if (Status s = MappedFile::open(path, options.mode, &mapped); !s.ok()) return s;
    std::unique_ptr<GgufFile> file;
    if (Status s = parse(mapped->data(), mapped->size(), options.limits, &file); !s.ok())
        return {s.code(), fmt::format("{}: {}", path, s.message())};
    file->file_ = std::move(mapped);
    *out = std::move(file);
    return Status::success();
}

const KeyValue* GgufFile::find(std::string_view key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kvs_[it->second];
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<std::string_view> GgufFile::get_string(std::string_view key) const {
    const KeyValue* kv = find(key);
    if (!kv || kv->value.type != ValueType::string) return std::nullopt;
    return kv->value.str;
}

std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
    const KeyValue* kv = find(key);
    if (!kv) return std::nullopt;
    switch (kv->value.type) {
        case ValueType::u8: case ValueType::u16: case ValueType::u32: case ValueType::u64: return kv->value.u;
        case ValueType::i8: case ValueType::i16: case ValueType::i32: case ValueType::i64:
            if (kv->value.i >= 0) return static_cast<uint64_t>(kv->value.i);
            return std::nullopt;
        default: return std::nullopt;
    }
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
    const KeyValue* kv = find(key);
    if (!kv || (kv->value.type != ValueType::f32 && kv->value.type != ValueType::f64)) return std::nullopt;
    return kv->value.f;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
    const KeyValue* kv = find(key);
    if (!kv || kv->value.type != ValueType::boolean) return std::nullopt;
    return kv->value.b;
}

}  // namespace gmg::gguf
