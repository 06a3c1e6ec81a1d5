// A whole file as one read-only byte range: mmap'd when possible, otherwise read
// into memory (pipes of unknown size are not supported; regular files only).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lib/util/status.h"

namespace gmg {

class MappedFile {
public:
    enum class Mode { mmap_or_read, read_only };  // read_only skips mmap (tests, odd filesystems)

    static Status open(const std::string& path, Mode mode, std::unique_ptr<MappedFile>* out);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    bool is_mapped() const { return mapped_; }
    // Lets the kernel drop the resident pages wholly inside [p, p + n) when the file
    // is mapped (they are read back from the file if touched again); a no-op for
    // the read() fallback, whose bytes are the only copy.
    void release(const uint8_t* p, size_t n) const;

private:
    MappedFile() = default;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    bool mapped_ = false;
    std::vector<uint8_t> buffer_;  // used by the read() fallback
};

}  // namespace gmg
