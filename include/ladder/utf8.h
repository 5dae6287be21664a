#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace ladder {
// True when `text` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool valid_utf8(std::string_view text);
// Byte offset of the first invalid sequence, or npos.
std::size_t first_invalid_utf8(std::string_view text);
// Replaces every invalid UTF-8 sequence with U+FFFD, so the text can always be
// serialised as JSON.
std::string sanitize_utf8(std::string_view text);
// The longest prefix of valid UTF-8 `text` of at most `max_bytes` bytes that ends on a
// code point boundary.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);
}  // namespace ladder
