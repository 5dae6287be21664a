#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ladder/utf8.h"  // sanitize_utf8

namespace ladder {
// Masks secrets and tokens (GitHub/GitLab/Slack/AWS/npm/OpenAI/Anthropic keys, bearer
// and basic auth, password=..., private key blocks, JWTs) with "[REDACTED:<kind>]".
std::string redact_secrets(std::string_view text);
// Whether redact_secrets(text) would mask anything (one scan of every pattern at once).
bool has_secrets(std::string_view text);
// Redacted, whitespace-collapsed, cut to at most `max_chars` code points (UTF-8 safe).
std::string redacted_preview(std::string_view text, std::size_t max_chars);
// A matched span safe to echo (hard-stop matches can be secrets): its first two code
// points, an ellipsis and its length in code points ("de… (9 chars)"); texts of two code
// points or less keep none.
std::string redacted_match(std::string_view text);
// Lower-case hex SHA-256 (OpenSSL).
std::string sha256_hex(std::string_view data);
}  // namespace ladder
