#include "lib/util/printable.h"

#include <fmt/format.h>

namespace gmg {

std::string printable(std::string_view s, size_t max_bytes) {
    std::string out;
    const bool cut = s.size() > max_bytes;
    if (cut) s = s.substr(0, max_bytes);
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f || c == '\\')
            out += fmt::format("\\x{:02x}", c);
        else
            out += static_cast<char>(c);
    }
    if (cut) out += "...";
    return out;
}

}  // namespace gmg
