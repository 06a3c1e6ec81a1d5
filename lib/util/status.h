// The library's error currency: a code and a human message. Library code never
// throws across its boundary, aborts or prints; it returns one of these.
#pragma once
#include <string>
#include <utility>

namespace gmg {

enum class StatusCode {
    ok = 0,
    invalid_argument,  // the caller passed something unusable
    io_error,          // the OS refused (open, stat, read, mmap)
    invalid_file,      // the file is not a well-formed GGUF
    unsupported,       // well-formed, but something we do not handle (version, type, architecture)
    out_of_memory,
    internal,
    context_full,      // more tokens than the context has positions left
};

class Status {
public:
    Status() = default;
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
    static Status success() { return {}; }

    bool ok() const { return code_ == StatusCode::ok; }
    StatusCode code() const { return code_; }
    const std::string& message() const { return message_; }

private:
    StatusCode code_ = StatusCode::ok;
    std::string message_;
};

}  // namespace gmg
