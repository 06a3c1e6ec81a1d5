// Builds small GGUF images in memory for reader tests.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace gmg::test {

class GgufBuilder {
public:
    explicit GgufBuilder(uint32_t alignment = 32) : alignment_(alignment) {}

    template <class T>
    static void put(std::vector<uint8_t>& out, T v) {
        append(out, &v, sizeof v);
    }
    static void put_str(std::vector<uint8_t>& out, std::string_view s) {
        put<uint64_t>(out, s.size());
        append(out, s.data(), s.size());
    }
    // resize + memcpy rather than insert(): GCC 12 misreads inlined inserts as overflows.
    static void append(std::vector<uint8_t>& out, const void* p, size_t n) {
        const size_t at = out.size();
        out.resize(at + n);
        if (n) std::memcpy(out.data() + at, p, n);
    }

    template <class T>
    GgufBuilder& scalar(std::string_view key, uint32_t type, T v) {
        put_str(kv_, key);
        put<uint32_t>(kv_, type);
        put<T>(kv_, v);
        ++n_kv_;
        return *this;
    }
    GgufBuilder& string(std::string_view key, std::string_view v) {
        put_str(kv_, key);
        put<uint32_t>(kv_, 8);
        put_str(kv_, v);
        ++n_kv_;
        return *this;
    }
    GgufBuilder& strings(std::string_view key, const std::vector<std::string>& v) {
        put_str(kv_, key);
        put<uint32_t>(kv_, 9);
        put<uint32_t>(kv_, 8);
        put<uint64_t>(kv_, v.size());
        for (const auto& s : v) put_str(kv_, s);
        ++n_kv_;
        return *this;
    }
    GgufBuilder& f32_array(std::string_view key, const std::vector<float>& v) {
        put_str(kv_, key);
        put<uint32_t>(kv_, 9);
        put<uint32_t>(kv_, 6);
        put<uint64_t>(kv_, v.size());
        for (float f : v) put<float>(kv_, f);
        ++n_kv_;
        return *this;
    }
    GgufBuilder& i32_array(std::string_view key, const std::vector<int32_t>& v) {
        put_str(kv_, key);
        put<uint32_t>(kv_, 9);
        put<uint32_t>(kv_, 5);
        put<uint64_t>(kv_, v.size());
        for (int32_t x : v) put<int32_t>(kv_, x);
        ++n_kv_;
        return *this;
    }
    // Appends a tensor whose bytes are `data`, placed at the next aligned offset.
    GgufBuilder& tensor(std::string_view name, std::vector<int64_t> ne, uint32_t type, const std::vector<uint8_t>& data) {
        put_str(info_, name);
        put<uint32_t>(info_, static_cast<uint32_t>(ne.size()));
        for (int64_t d : ne) put<int64_t>(info_, d);
        put<uint32_t>(info_, type);
        data_.resize((data_.size() + alignment_ - 1) / alignment_ * alignment_, 0);
        put<uint64_t>(info_, data_.size());
        append(data_, data.data(), data.size());
        ++n_tensors_;
        return *this;
    }

    std::vector<uint8_t> build(uint32_t version = 3) const {
        std::vector<uint8_t> out;
        append(out, "GGUF", 4);
        put<uint32_t>(out, version);
        put<uint64_t>(out, n_tensors_);
        put<uint64_t>(out, n_kv_);
        append(out, kv_.data(), kv_.size());
        append(out, info_.data(), info_.size());
        out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, 0);
        append(out, data_.data(), data_.size());
        return out;
    }

private:
    uint32_t alignment_;
    uint64_t n_kv_ = 0, n_tensors_ = 0;
    std::vector<uint8_t> kv_, info_, data_;
};

}  // namespace gmg::test
