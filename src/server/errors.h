// The one error funnel of the HTTP layer: every failure a client sees is a Status from
// the error table, rendered in OpenAI's error shape
//   {"error": {"message", "type", "param", "code"}}
// with the table's HTTP status; `code` is the table's stable name. POST /v1/messages
// renders the same Status in Anthropic's shape instead
//   {"type": "error", "error": {"type", "message"}}
// (ErrorFormat picks one). Errors arrive typed (a Status): nothing here reads a code back
// out of a message.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder::server {

struct ApiError {
  int http_status = 500;
  nlohmann::json body;               // {"error": {...}}
  std::optional<int> retry_after_s;  // sent as Retry-After (429, 503)
};

// OpenAI's error `type` for an HTTP status: invalid_request_error, authentication_error,
// permission_error, not_found_error, rate_limit_error, not_implemented, api_error.
std::string_view openai_error_type(ErrorCode code);

// Retry-After: `retry_after_s` when given, else the status's own retry_after (an
// upstream's Retry-After, a backend's cool-down) in whole seconds, rounded up.
ApiError make_api_error(const Status& status, std::string_view param = {},
                        std::optional<int> retry_after_s = std::nullopt);

// Anthropic's error `type` for a code, by its HTTP status: invalid_request_error (400,
// 422), authentication_error (401), permission_error (403), not_found_error (404),
// request_too_large (413), rate_limit_error (429), overloaded_error (503, 529),
// api_error (anything else).
std::string_view anthropic_error_type(ErrorCode code);

// The failure in Anthropic's shape, with the table's HTTP status and Retry-After as for
// make_api_error (`param`, when given, leads the message as "<param>: " unless it does).
ApiError make_anthropic_error(const Status& status, std::string_view param = {},
                              std::optional<int> retry_after_s = std::nullopt);

// How an endpoint renders its failures: a whole reply's body, and the server-sent event
// that ends a stream which broke after its first byte.
struct ErrorFormat {
  ApiError (*error)(const Status& status, std::string_view param, std::optional<int> retry_after_s);
  std::string (*stream_event)(const ApiError& error);
};
// OpenAI's shape, the stream ending with `data: {"error": ...}`.
extern const ErrorFormat kOpenAiErrors;
// Anthropic's shape, the stream ending with `event: error`.
extern const ErrorFormat kAnthropicErrors;

}  // namespace ladder::server
