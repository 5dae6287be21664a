// The error table for network backends: an HTTP answer that is not a success becomes
// a Status with a code from include/ladder/status.h.
//   429 -> kRateLimited, 5xx -> kUpstreamError, other 4xx -> kUpstreamRejected,
//   other non-2xx -> kBadResponse.
// Messages name the backend and the URL and carry the upstream's own error message
// (OpenAI {error:{message}}, Anthropic {type:"error",error:{type,message}},
// Ollama {error:"..."}); a configured API key is never included.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "backends/http/http_client.h"
#include "ladder/status.h"

namespace ladder::http {

// The upstream's error text from a JSON error body in any of the shapes above, or the
// start of the raw body (single line, at most 200 bytes) when it is not JSON.
std::string upstream_error_text(std::string_view body);

// Status for a non-2xx response; ok for 2xx. A Retry-After header is kept as the
// status's retry_after.
Status status_from_response(std::string_view backend, const std::string& url, const Response& response);

// Retry-After header as a delay: delta-seconds only (HTTP dates are treated as absent).
std::optional<std::chrono::milliseconds> retry_after(const Response& response);

// Prefixes a transport or mapping status with the backend name: "openai: ...".
Status with_backend(std::string_view backend, const Status& status);

// Replaces every occurrence of `secret` (when non-empty) in `text` with "[redacted]".
std::string redact(std::string text, std::string_view secret);

}  // namespace ladder::http
