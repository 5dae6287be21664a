#pragma once
#include <cstddef>
#include <string_view>

namespace ladder {
// True when `text` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool valid_utf8(std::string_view text);
// Byte offset of the first invalid sequence, or npos.
std::size_t first_invalid_utf8(std::string_view text);
}  // namespace ladder
