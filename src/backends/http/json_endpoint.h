// What the network backends share: one configured upstream (base URL, timeouts, retry
// policy, API key from an environment variable) spoken to in JSON over HTTP.
// Every failure is a Status from the error table, prefixed with the backend kind and
// naming the URL; the API key is redacted from every message.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/http/http_client.h"
#include "backends/retry.h"
#include "ladder/backend.h"
#include "ladder/config.h"

namespace ladder::http {

class JsonEndpoint {
 public:
  JsonEndpoint(std::string kind, ModelConfig model, SleepFn sleep = {});

  const std::string& kind() const { return kind_; }
  const ModelConfig& model() const { return model_; }
  const RetryPolicy& retry() const { return retry_; }
  std::string url(std::string_view path) const { return join_url(model_.base_url, path); }

  // The API key named by api_key_env: nullopt when no variable is configured;
  // kNotConfigured (the server's fault, 503) when it is configured but unset or empty.
  Result<std::optional<std::string>> api_key() const;
  // "Authorization: Bearer <key>" when a key is configured; none otherwise.
  Result<Headers> bearer_headers() const;

  // One exchange, no retries. `body` null means GET. The response must be a 2xx with a
  // JSON body; a failure keeps the upstream's Retry-After (Status::retry_after).
  Result<nlohmann::json> call(std::string_view path, const nlohmann::json* body, const Headers& headers,
                              std::chrono::milliseconds timeout) const;
  // How call() reads the response to a request for `url`: a non-2xx maps through the
  // error table, a 2xx must carry a JSON object.
  Result<nlohmann::json> read_reply(const std::string& url, const Response& response) const;

  // Runs `attempt(timeout)` under the retry policy with an overall deadline of
  // `budget` from now; each attempt's timeout is min(request_timeout_ms, time left).
  // Sets latency_ms and attempts on success.
  using Attempt = std::function<Result<GenerationResult>(std::chrono::milliseconds)>;
  Result<GenerationResult> generate_with_retries(std::chrono::milliseconds budget, const Attempt& attempt) const;

  // kUnavailable / kTimeout / ... from a quick GET of `path`.
  Status probe(std::string_view path, const Headers& headers) const;

  // A status naming this backend, with the API key (if any) redacted.
  Status error(ErrorCode code, const std::string& message) const;
  Status prefixed(const Status& status) const;

 private:
  std::string redact_key(std::string text) const;

  std::string kind_;
  ModelConfig model_;
  RetryPolicy retry_;
  Client client_;
};

// An upstream's answer replayed without the network (fuzz/backend_replies.cpp): the
// response to a plain exchange, or a 2xx streamed body in the pieces it arrived in.
struct ReplayedAnswer {
  bool stream = false;
  bool raw = false;  // the completion API's answer rather than chat's (openai, ollama)
  Response response;
  std::vector<std::string> pieces;
};

// Converts a JSON document into the domain type; nlohmann exceptions (missing fields,
// wrong types) become kBadResponse naming the backend and URL.
template <typename T, typename F>
Result<T> parse_boundary(const JsonEndpoint& endpoint, std::string_view path, F&& parse) {
  try {
    return parse();
  } catch (const nlohmann::json::exception& e) {
    return endpoint.error(ErrorCode::kBadResponse, endpoint.url(path) + ": unexpected response shape: " + e.what());
  }
}

// Token log-probabilities in the OpenAI chat shape, also used by llama-server and
// Ollama: [{token, logprob, top_logprobs: [{token, logprob}, ...]}, ...]. Throws
// nlohmann exceptions on wrong shapes (call inside parse_boundary). Alternatives are
// sorted best first.
std::vector<TokenLogprob> parse_token_logprobs(const nlohmann::json& entries);

}  // namespace ladder::http
