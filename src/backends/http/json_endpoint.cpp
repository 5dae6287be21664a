#include "backends/http/json_endpoint.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "backends/http/http_errors.h"

namespace ladder::http {

using std::chrono::milliseconds;

JsonEndpoint::JsonEndpoint(std::string kind, ModelConfig model, SleepFn sleep)
    : kind_(std::move(kind)), model_(std::move(model)), retry_(model_.retry, std::move(sleep)) {}

Result<Headers> JsonEndpoint::bearer_headers() const {
  auto key = api_key();
  if (!key.ok()) return key.status();
  Headers headers;
  if (key.value()) headers.emplace_back("Authorization", "Bearer " + *key.value());
  return headers;
}

Result<std::optional<std::string>> JsonEndpoint::api_key() const {
  if (model_.api_key_env.empty()) return std::optional<std::string>();
  const char* value = std::getenv(model_.api_key_env.c_str());
  if (value == nullptr || *value == '\0') {
    return make_error(ErrorCode::kNotConfigured, kind_ + ": environment variable " + model_.api_key_env +
                                                     " (api_key_env of model '" + model_.name + "') is not set");
  }
  return std::optional<std::string>(value);
}

std::string JsonEndpoint::redact_key(std::string text) const {
  if (!model_.api_key_env.empty()) {
    if (const char* key = std::getenv(model_.api_key_env.c_str())) text = redact(std::move(text), key);
  }
  return text;
}

Status JsonEndpoint::error(ErrorCode code, const std::string& message) const {
  return make_error(code, redact_key(kind_ + ": " + message));
}

Status JsonEndpoint::prefixed(const Status& status) const {
  if (status.ok()) return status;
  return status.with_message(redact_key(kind_ + ": " + status.message()));
}

Result<nlohmann::json> JsonEndpoint::call(std::string_view path, const nlohmann::json* body, const Headers& headers,
                                          milliseconds timeout) const {
  Request request;
  request.method = body != nullptr ? "POST" : "GET";
  request.url = url(path);
  request.headers = headers;
  if (body != nullptr) request.body = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  request.connect_timeout = milliseconds(std::max(1, model_.connect_timeout_ms));
  request.total_timeout = std::max(timeout, milliseconds(1));
  auto response = client_.send(request);
  if (!response.ok()) return prefixed(response.status());
  return read_reply(request.url, response.value());
}

Result<nlohmann::json> JsonEndpoint::read_reply(const std::string& url, const Response& response) const {
  Status mapped = status_from_response(kind_, url, response);
  if (!mapped.ok()) return mapped.with_message(redact_key(mapped.message()));
  auto parsed = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return error(ErrorCode::kBadResponse, url + " answered HTTP " + std::to_string(response.status) +
                                              " with a body that is not JSON: " + upstream_error_text(response.body));
  }
  if (!parsed.is_object()) {
    return error(ErrorCode::kBadResponse, url + ": expected a JSON object");
  }
  return parsed;
}

Result<GenerationResult> JsonEndpoint::generate_with_retries(milliseconds budget, const Attempt& attempt) const {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::max(budget, milliseconds(1));
  int attempts = 0;
  auto result = retry_.run<GenerationResult>(
      [&]() -> Result<GenerationResult> {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
          return error(ErrorCode::kTimeout,
                       model_.base_url + ": request budget of " + std::to_string(budget.count()) + " ms spent");
        }
        auto timeout = std::min(left, milliseconds(std::max(1, model_.request_timeout_ms)));
        return attempt(timeout);
      },
      &attempts, deadline);
  if (result.ok()) {
    result->attempts = attempts;
    result->latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  return result;
}

Status JsonEndpoint::probe(std::string_view path, const Headers& headers) const {
  auto timeout = milliseconds(std::clamp(model_.request_timeout_ms, 1, 5000));
  auto result = call(path, nullptr, headers, timeout);
  return result.ok() ? Status::ok_status() : result.status();
}

namespace {
// Servers write log(0) as null (JSON has no -inf).
double logprob_value(const nlohmann::json& value) {
  if (value.is_null()) return -std::numeric_limits<double>::infinity();
  return value.get<double>();
}
}  // namespace

std::vector<TokenLogprob> parse_token_logprobs(const nlohmann::json& entries) {
  std::vector<TokenLogprob> tokens;
  for (const auto& entry : entries.get_ref<const nlohmann::json::array_t&>()) {
    TokenLogprob token;
    token.token = entry.at("token").get<std::string>();
    token.logprob = logprob_value(entry.at("logprob"));
    if (entry.contains("top_logprobs") && entry["top_logprobs"].is_array()) {
      for (const auto& alt : entry["top_logprobs"]) {
        token.top.emplace_back(alt.at("token").get<std::string>(), logprob_value(alt.at("logprob")));
      }
      std::stable_sort(token.top.begin(), token.top.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace ladder::http
