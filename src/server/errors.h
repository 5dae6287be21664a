// The one error funnel of the HTTP layer: every failure a client sees is a Status from
// the error table, rendered in OpenAI's error shape
//   {"error": {"message", "type", "param", "code"}}
// with the table's HTTP status; `code` is the table's stable name. Errors arrive typed
// (a Status): nothing here reads a code back out of a message.
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

}  // namespace ladder::server
