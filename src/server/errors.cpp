#include "server/errors.h"

#include <algorithm>
#include <chrono>

#include "server/sse.h"

namespace ladder::server {

std::string_view openai_error_type(ErrorCode code) {
  switch (error_info(code).http_status) {
    case 400:
    case 413:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    case 501:
      return "not_implemented";
    default:
      return "api_error";
  }
}

namespace {

// The status and Retry-After of an error reply, either shape.
ApiError error_head(const Status& status, std::optional<int> retry_after_s) {
  const ErrorCode code = status.ok() ? ErrorCode::kInternal : status.code();
  ApiError e;
  e.http_status = error_info(code).http_status;
  e.retry_after_s = retry_after_s;
  if (!e.retry_after_s && status.retry_after()) {
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(*status.retry_after()).count();
    e.retry_after_s = static_cast<int>(std::clamp<long long>(seconds, 0, 86400));
  }
  return e;
}

std::string openai_stream_event(const ApiError& e) { return sse_event(e.body); }
std::string anthropic_stream_event(const ApiError& e) { return sse_event("error", e.body); }

}  // namespace

const ErrorFormat kOpenAiErrors{make_api_error, openai_stream_event};
const ErrorFormat kAnthropicErrors{make_anthropic_error, anthropic_stream_event};

std::string_view anthropic_error_type(ErrorCode code) {
  switch (error_info(code).http_status) {
    case 400:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

ApiError make_anthropic_error(const Status& status, std::string_view param, std::optional<int> retry_after_s) {
  const ErrorCode code = status.ok() ? ErrorCode::kInternal : status.code();
  ApiError e = error_head(status, retry_after_s);
  std::string message = status.message();
  if (!param.empty() && message.rfind(std::string(param) + ":", 0) != 0) message = std::string(param) + ": " + message;
  e.body = {{"type", "error"}, {"error", {{"type", anthropic_error_type(code)}, {"message", message}}}};
  return e;
}

ApiError make_api_error(const Status& status, std::string_view param, std::optional<int> retry_after_s) {
  const ErrorCode code = status.ok() ? ErrorCode::kInternal : status.code();
  ApiError e = error_head(status, retry_after_s);
  e.body = {{"error",
             {{"message", status.message()},
              {"type", openai_error_type(code)},
              {"param", param.empty() ? nlohmann::json() : nlohmann::json(std::string(param))},
              {"code", error_name(code)}}}};
  return e;
}

}  // namespace ladder::server
