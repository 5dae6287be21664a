#include "backends/http/http_errors.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace ladder::http {
namespace {

constexpr std::size_t kMaxErrorText = 200;

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxErrorText));
  for (char c : text) {
    if (out.size() >= kMaxErrorText) {
      out += "...";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::string upstream_error_text(std::string_view body) {
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("error")) {
    const auto& error = parsed["error"];
    if (error.is_string()) return one_line(error.get<std::string>());
    if (error.is_object()) {
      std::string text;
      if (error.contains("type") && error["type"].is_string()) text = error["type"].get<std::string>();
      if (error.contains("message") && error["message"].is_string()) {
        if (!text.empty()) text += ": ";
        text += error["message"].get<std::string>();
      }
      if (!text.empty()) return one_line(text);
    }
  }
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
    return one_line(parsed["message"].get<std::string>());
  }
  return one_line(body);
}

Status status_from_response(std::string_view backend, const std::string& url, const Response& response) {
  const int code = response.status;
  if (code >= 200 && code < 300) return Status::ok_status();
  std::string message = std::string(backend) + ": " + url + " answered HTTP " + std::to_string(code);
  std::string detail = upstream_error_text(response.body);
  if (!detail.empty()) message += ": " + detail;
  const auto after = retry_after(response);
  if (after) message += " (retry after " + std::to_string(after->count() / 1000) + " s)";
  ErrorCode mapped = ErrorCode::kBadResponse;
  if (code == 429) {
    mapped = ErrorCode::kRateLimited;
  } else if (code >= 500 && code < 600) {
    mapped = ErrorCode::kUpstreamError;
  } else if (code >= 400 && code < 500) {
    mapped = ErrorCode::kUpstreamRejected;
  }
  Status status = make_error(mapped, message);
  status.set_retry_after(after);
  return status;
}

std::optional<std::chrono::milliseconds> retry_after(const Response& response) {
  auto value = response.header("Retry-After");
  if (!value) return std::nullopt;
  std::string_view text = *value;
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty() || text.size() > 9) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::stol(std::string(text)));
}

Status with_backend(std::string_view backend, const Status& status) {
  if (status.ok()) return status;
  return status.with_message(std::string(backend) + ": " + status.message());
}

std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  std::size_t pos = 0;
  while ((pos = text.find(secret, pos)) != std::string::npos) {
    text.replace(pos, secret.size(), "[redacted]");
    pos += 10;
  }
  return text;
}

}  // namespace ladder::http
