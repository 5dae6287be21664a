#include "server/errors.h"

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

ApiError make_api_error(const Status& status, std::string_view param, std::optional<int> retry_after_s) {
  const ErrorCode code = status.ok() ? ErrorCode::kInternal : status.code();
  ApiError e;
  e.http_status = error_info(code).http_status;
  e.retry_after_s = retry_after_s;
  e.body = {{"error",
             {{"message", status.message()},
              {"type", openai_error_type(code)},
              {"param", param.empty() ? nlohmann::json() : nlohmann::json(std::string(param))},
              {"code", error_name(code)}}}};
  return e;
}

ErrorCode code_from_message(std::string_view text) {
  for (int c = static_cast<int>(ErrorCode::kInvalidArgument); c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    const auto code = static_cast<ErrorCode>(c);
    const std::string_view name = error_name(code);
    if (text.size() > name.size() && text.substr(0, name.size()) == name && text[name.size()] == ':') return code;
  }
  return ErrorCode::kUnavailable;
}

std::string strip_code_prefix(std::string_view text) {
  const ErrorCode code = code_from_message(text);
  const std::string_view name = error_name(code);
  if (text.substr(0, name.size()) == name && text.size() > name.size() + 1 && text[name.size()] == ':') {
    text.remove_prefix(name.size() + 1);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
  return std::string(text);
}

}  // namespace ladder::server
