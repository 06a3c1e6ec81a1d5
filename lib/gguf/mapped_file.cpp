#include "lib/gguf/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include <fmt/format.h>

namespace gmg {
namespace {

Status os_error(const std::string& what, const std::string& path) {
    return {StatusCode::io_error, fmt::format("{} '{}': {}", what, path, std::strerror(errno))};
}

struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

Status MappedFile::open(const std::string& path, Mode mode, std::unique_ptr<MappedFile>* out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return os_error("cannot open", path);
    FdCloser closer{fd};

    struct stat st {};
    if (::fstat(fd, &st) != 0) return os_error("cannot stat", path);
    if (!S_ISREG(st.st_mode)) return {StatusCode::io_error, fmt::format("'{}' is not a regular file", path)};
    const auto size = static_cast<uint64_t>(st.st_size);
    if (size > SIZE_MAX) return {StatusCode::io_error, fmt::format("'{}' is too large to map", path)};

    std::unique_ptr<MappedFile> file(new MappedFile());
    file->size_ = static_cast<size_t>(size);
    if (size == 0) {  // mmap rejects length 0; an empty range is still a valid (bad) GGUF input
        *out = std::move(file);
        return Status::success();
    }
    if (mode == Mode::mmap_or_read) {
        void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            file->data_ = static_cast<const uint8_t*>(p);
            file->mapped_ = true;
            *out = std::move(file);
            return Status::success();
        }
    }
    try {
        file->buffer_.resize(file->size_);
    } catch (const std::bad_alloc&) {
        return {StatusCode::out_of_memory, fmt::format("cannot allocate {} bytes to read '{}'", size, path)};
    }
    size_t done = 0;
    while (done < file->size_) {
        const ssize_t got = ::read(fd, file->buffer_.data() + done, file->size_ - done);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return os_error("cannot read", path);
        if (got == 0) return {StatusCode::io_error, fmt::format("'{}' shrank while being read", path)};
        done += static_cast<size_t>(got);
    }
    file->data_ = file->buffer_.data();
    *out = std::move(file);
    return Status::success();
}

MappedFile::~MappedFile() {
    if (mapped_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::release(const uint8_t* p, size_t n) const {
    if (!mapped_ || p < data_ || p + n > data_ + size_) return;
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
    const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
    if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);  // advice only: failure changes nothing
}

}  // namespace gmg
