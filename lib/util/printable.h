// Makes file-supplied bytes safe to put in a one-line message.
#pragma once
#include <string>
#include <string_view>

namespace gmg {

// Printable ASCII and UTF-8 lead/continuation bytes pass; control bytes become \xNN;
// anything longer than max_bytes is cut with "...".
std::string printable(std::string_view s, size_t max_bytes = 96);

}  // namespace gmg
