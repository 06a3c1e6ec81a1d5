// gmg-inspect: what is inside a GGUF file (metadata, tensors, size), as text or
// JSON, and a tensor decoded to raw float32 for other tools to check.
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "kernels/ref/dequantize.h"
#include "lib/gguf/gguf_file.h"
#include "lib/util/printable.h"

namespace {

using gmg::gguf::GgufFile;
using gmg::gguf::KeyValue;
using gmg::gguf::TensorInfo;
using gmg::gguf::Value;
using gmg::gguf::ValueType;

struct Args {
    std::string path;
    bool json = false;
    std::string dequant_name;
    std::string out_path;
    uint64_t max_array = 16;  // array elements shown before abbreviating
};

[[noreturn]] void usage(int code) {
    std::fputs(
        "usage: gmg-inspect FILE [--json] [--max-array N]\n"
        "       gmg-inspect FILE --dequant TENSOR -o OUT\n"
        "  --json          print everything as one JSON object\n"
        "  --max-array N   show at most N elements of each array (default 16; 0 = all)\n"
        "  --dequant NAME  decode tensor NAME to little-endian float32, row-major (ne[0] fastest)\n",
        code ? stderr : stdout);
    std::exit(code);
}

Args parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string_view s = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "gmg-inspect: error: %s needs a value\n", argv[i]);
                usage(2);
            }
            return argv[++i];
        };
        if (s == "--json") a.json = true;
        else if (s == "--dequant") a.dequant_name = next();
        else if (s == "-o" || s == "--output") a.out_path = next();
        else if (s == "--max-array") a.max_array = std::strtoull(next(), nullptr, 10);
        else if (s == "-h" || s == "--help") usage(0);
        else if (!s.empty() && s[0] == '-') {
            std::fprintf(stderr, "gmg-inspect: error: unknown option %s\n", argv[i]);
            usage(2);
        } else if (a.path.empty()) a.path = argv[i];
        else usage(2);
    }
    if (a.path.empty()) usage(2);
    if (!a.dequant_name.empty() && a.out_path.empty()) {
        std::fputs("gmg-inspect: error: --dequant needs -o OUT\n", stderr);
        std::exit(2);
    }
    return a;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20) out += fmt::format("\\u{:04x}", c);
                else out += static_cast<char>(c);  // UTF-8 passes through; invalid bytes are the file's
        }
    }
    return out + "\"";
}

// JSON has no NaN or infinity: those become strings. Templated so an f32 prints
// its own shortest form rather than that of the widened double.
template <class F>
std::string json_number(F v) {
    if (!std::isfinite(v)) return json_string(fmt::format("{}", v));
    std::string s = fmt::format("{}", v);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";  // keep it a float: -0.0 stays negative
    return s;
}

std::string scalar_text(const Value& v, bool json) {
    switch (v.type) {
        case ValueType::u8: case ValueType::u16: case ValueType::u32: case ValueType::u64: return fmt::format("{}", v.u);
        case ValueType::i8: case ValueType::i16: case ValueType::i32: case ValueType::i64: return fmt::format("{}", v.i);
        case ValueType::f32: return json ? json_number(static_cast<float>(v.f)) : fmt::format("{}", static_cast<float>(v.f));
        case ValueType::f64: return json ? json_number(v.f) : fmt::format("{}", v.f);
        case ValueType::boolean: return v.b ? "true" : "false";
        case ValueType::string: return json ? json_string(v.str) : fmt::format("\"{}\"", gmg::printable(v.str, 80));
        case ValueType::array: return "";
    }
    return "";
}

std::string array_element_text(const Value& v, uint64_t k, bool json) {
    if (v.elem_type == ValueType::string)
        return json ? json_string(v.strings[k]) : fmt::format("\"{}\"", gmg::printable(v.strings[k], 40));
    Value e;
    e.type = v.elem_type;
    const size_t w = gmg::gguf::value_type_size(v.elem_type);
    // Re-decode through the same path as scalars so formatting is identical.
    switch (v.elem_type) {
        case ValueType::f32: case ValueType::f64: e.f = v.array_f64(k); break;
        case ValueType::i8: case ValueType::i16: case ValueType::i32: case ValueType::i64: e.i = v.array_i64(k); break;
        case ValueType::boolean: e.b = v.array_i64(k) != 0; break;
        default: std::memcpy(&e.u, v.elems + k * w, w); break;  // little-endian host: low bytes first
    }
    return scalar_text(e, json);
}

std::string value_text(const Value& v, uint64_t max_array, bool json) {
    if (!v.is_array()) return scalar_text(v, json);
    const uint64_t shown = max_array && v.count > max_array ? max_array : v.count;
    std::string out = "[";
    for (uint64_t k = 0; k < shown; ++k) {
        if (k) out += ", ";
        out += array_element_text(v, k, json);
    }
    if (!json && shown < v.count) out += fmt::format(", ... ({} total)", v.count);
    return out + "]";
}

std::string shape_text(const TensorInfo& t) {
    std::string s = "[";
    for (uint32_t d = 0; d < t.n_dims; ++d) s += fmt::format("{}{}", d ? ", " : "", t.ne[d]);
    return s + "]";
}

struct Totals {
    uint64_t params = 0, bytes = 0;
    double bits_per_weight() const { return params ? 8.0 * static_cast<double>(bytes) / static_cast<double>(params) : 0.0; }
};

Totals totals(const GgufFile& f) {
    Totals t;
    for (const TensorInfo& ti : f.tensors()) {
        t.params += ti.n_elements;
        t.bytes += ti.n_bytes;
    }
    return t;
}

void print_text(const std::string& path, const GgufFile& f, const Args& a) {
    const auto arch = f.get_string("general.architecture");
    fmt::print("file:         {}\n", path);
    fmt::print("architecture: {}\n", arch ? gmg::printable(*arch) : "(none)");
    fmt::print("gguf version: {}   alignment: {}   data offset: {}   file size: {}\n", f.version(), f.alignment(),
               f.data_offset(), f.file_size());
    fmt::print("\nmetadata ({} keys):\n", f.metadata().size());
    for (const KeyValue& kv : f.metadata()) {
        std::string type(gmg::gguf::value_type_name(kv.value.type));
        if (kv.value.is_array())
            type = fmt::format("{}[{}]", gmg::gguf::value_type_name(kv.value.elem_type), kv.value.count);
        fmt::print("  {:<44} {:<14} {}\n", gmg::printable(kv.key), type, value_text(kv.value, a.max_array, false));
    }
    fmt::print("\ntensors ({}):\n", f.tensors().size());
    fmt::print("  {:<40} {:<8} {:<22} {:>12} {:>12}\n", "name", "type", "shape", "bytes", "offset");
    for (const TensorInfo& t : f.tensors())
        fmt::print("  {:<40} {:<8} {:<22} {:>12} {:>12}\n", gmg::printable(t.name), gmg::traits_of(t.type).name,
                   shape_text(t), t.n_bytes, f.data_offset() + t.offset);
    const Totals tot = totals(f);
    fmt::print("\nparameters: {} ({:.2f} M)   tensor bytes: {} ({:.2f} MiB)   bits per weight: {:.3f}\n", tot.params,
               static_cast<double>(tot.params) / 1e6, tot.bytes, static_cast<double>(tot.bytes) / (1 << 20),
               tot.bits_per_weight());
}

void print_json(const std::string& path, const GgufFile& f, const Args& a) {
    const auto arch = f.get_string("general.architecture");
    std::string out = "{";
    out += fmt::format("\"file\": {}, \"architecture\": {}, \"version\": {}, \"alignment\": {}, \"data_offset\": {}, "
                       "\"file_size\": {},\n \"metadata\": [",
                       json_string(path), arch ? json_string(*arch) : "null", f.version(), f.alignment(),
                       f.data_offset(), f.file_size());
    bool first = true;
    for (const KeyValue& kv : f.metadata()) {
        out += first ? "\n  " : ",\n  ";
        first = false;
        out += fmt::format("{{\"key\": {}, \"type\": \"{}\"", json_string(kv.key), gmg::gguf::value_type_name(kv.value.type));
        if (kv.value.is_array())
            out += fmt::format(", \"elem_type\": \"{}\", \"count\": {}", gmg::gguf::value_type_name(kv.value.elem_type),
                               kv.value.count);
        out += fmt::format(", \"value\": {}}}", value_text(kv.value, a.max_array, true));
    }
    out += "],\n \"tensors\": [";
    first = true;
    for (const TensorInfo& t : f.tensors()) {
        out += first ? "\n  " : ",\n  ";
        first = false;
        out += fmt::format("{{\"name\": {}, \"type\": \"{}\", \"type_id\": {}, \"shape\": {}, \"n_elements\": {}, "
                           "\"bytes\": {}, \"offset\": {}}}",
                           json_string(t.name), gmg::traits_of(t.type).name, static_cast<uint32_t>(t.type),
                           shape_text(t), t.n_elements, t.n_bytes, f.data_offset() + t.offset);
    }
    const Totals tot = totals(f);
    out += fmt::format("],\n \"parameters\": {}, \"tensor_bytes\": {}, \"bits_per_weight\": {}}}\n", tot.params, tot.bytes,
                       json_number(tot.bits_per_weight()));
    std::fputs(out.c_str(), stdout);
}

int dequant(const GgufFile& f, const Args& a) {
    const TensorInfo* t = f.find_tensor(a.dequant_name);
    if (!t) {
        std::fprintf(stderr, "gmg-inspect: error: no tensor named '%s'\n", gmg::printable(a.dequant_name).c_str());
        return 1;
    }
    FILE* out = std::fopen(a.out_path.c_str(), "wb");
    if (!out) {
        std::fprintf(stderr, "gmg-inspect: error: cannot write '%s': %s\n", a.out_path.c_str(), std::strerror(errno));
        return 1;
    }
    std::vector<float> row(static_cast<size_t>(t->ne[0]));
    bool ok = true;
    for (uint64_t r = 0; r < t->n_rows() && ok; ++r) {
        if (!gmg::ref::dequantize_row(t->type, t->data + r * t->row_bytes, row.data(), t->ne[0])) {
            std::fprintf(stderr, "gmg-inspect: error: cannot decode %s tensor '%s'\n",
                         std::string(gmg::traits_of(t->type).name).c_str(), gmg::printable(t->name).c_str());
            ok = false;
        } else if (std::fwrite(row.data(), sizeof(float), row.size(), out) != row.size()) {
            std::fprintf(stderr, "gmg-inspect: error: write to '%s' failed\n", a.out_path.c_str());
            ok = false;
        }
    }
    if (std::fclose(out) != 0) ok = false;
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse_args(argc, argv);
    std::unique_ptr<GgufFile> f;
    if (const gmg::Status s = GgufFile::open(a.path, &f); !s.ok()) {
        std::fprintf(stderr, "gmg-inspect: error: %s\n", s.message().c_str());
        return 1;
    }
    if (!a.dequant_name.empty()) return dequant(*f, a);
    if (a.json) print_json(a.path, *f, a);
    else print_text(a.path, *f, a);
    return 0;
}
