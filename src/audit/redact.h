#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ladder/utf8.h"  // sanitize_utf8

namespace ladder {
// Masks secrets and tokens (GitHub/GitLab/Slack/AWS/npm/OpenAI/Anthropic keys, bearer
// and basic auth, password=..., private key blocks, JWTs) with "[REDACTED:<kind>]".
std::string redact_secrets(std::string_view text);
// Redacted, whitespace-collapsed, cut to at most `max_chars` code points (UTF-8 safe).
std::string redacted_preview(std::string_view text, std::size_t max_chars);
// Lower-case hex SHA-256 (OpenSSL).
std::string sha256_hex(std::string_view data);
}  // namespace ladder
