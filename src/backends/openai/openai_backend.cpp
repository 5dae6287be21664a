#include "backends/openai/openai_backend.h"

#include <algorithm>
#include <limits>

#include "backends/http/json_endpoint.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kChatPath = "/v1/chat/completions";
constexpr std::string_view kCompletionPath = "/v1/completions";
constexpr std::string_view kModelsPath = "/v1/models";
constexpr int kMaxTopLogprobs = 20;  // OpenAI's limit

int usage_int(const json& usage, const char* key) {
  if (!usage.is_object() || !usage.contains(key) || usage[key].is_null()) return 0;
  return usage[key].get<int>();
}

// Legacy completions shape: {tokens: [...], token_logprobs: [...], top_logprobs: [{tok: lp}]}.
std::vector<TokenLogprob> parse_legacy_logprobs(const json& logprobs) {
  std::vector<TokenLogprob> tokens;
  const auto& texts = logprobs.at("tokens");
  const auto& values = logprobs.at("token_logprobs");
  const json* tops =
      logprobs.contains("top_logprobs") && logprobs["top_logprobs"].is_array() ? &logprobs["top_logprobs"] : nullptr;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    TokenLogprob token;
    token.token = texts.at(i).get<std::string>();
    token.logprob = values.at(i).is_null() ? -std::numeric_limits<double>::infinity() : values.at(i).get<double>();
    if (tops != nullptr && i < tops->size() && (*tops)[i].is_object()) {
      for (const auto& [text, value] : (*tops)[i].items()) token.top.emplace_back(text, value.get<double>());
      std::stable_sort(token.top.begin(), token.top.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

class OpenAiBackend final : public Backend {
 public:
  OpenAiBackend(const ModelConfig& model, SleepFn sleep) : endpoint_("openai", model, std::move(sleep)) {}

  Result<GenerationResult> generate(const GenerationRequest& request) override {
    const bool raw = request.messages.empty() && request.prompt.has_value();
    if (request.messages.empty() && !raw) {
      return endpoint_.error(ErrorCode::kInvalidArgument, "request has neither messages nor a prompt");
    }
    auto headers = auth_headers();
    if (!headers.ok()) return headers.status();
    json body = raw ? completion_body(request) : chat_body(request);
    const std::string_view path = raw ? kCompletionPath : kChatPath;
    return endpoint_.generate_with_retries(
        request.timeout, [&](milliseconds timeout, AttemptHints& hints) -> Result<GenerationResult> {
          auto reply = endpoint_.call(path, &body, headers.value(), timeout, hints);
          if (!reply.ok()) return reply.status();
          return http::parse_boundary<GenerationResult>(
              endpoint_, path, [&] { return raw ? parse_completion(reply.value()) : parse_chat(reply.value()); });
        });
  }

  Status health() override {
    auto headers = auth_headers();
    if (!headers.ok()) return headers.status();
    return endpoint_.probe(kModelsPath, headers.value());
  }

  std::string kind() const override { return "openai"; }
  std::string model() const override { return endpoint_.model().model; }

 private:
  Result<http::Headers> auth_headers() const { return endpoint_.bearer_headers(); }

  void common_fields(const GenerationRequest& request, json& body) const {
    if (!endpoint_.model().model.empty()) body["model"] = endpoint_.model().model;
    body["temperature"] = request.temperature;
    body["max_tokens"] = request.max_tokens;
    body["stream"] = false;
  }

  json chat_body(const GenerationRequest& request) const {
    json body = json::object();
    common_fields(request, body);
    json messages = json::array();
    for (const auto& m : request.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    body["messages"] = std::move(messages);
    if (request.gbnf_grammar) {
      body["grammar"] = *request.gbnf_grammar;  // llama-server extension
    } else if (request.json_schema) {
      body["response_format"] = {
          {"type", "json_schema"},
          {"json_schema", {{"name", "ladder_answer"}, {"schema", *request.json_schema}, {"strict", true}}}};
    }
    if (request.want_logprobs) {
      body["logprobs"] = true;
      const int top = std::clamp(request.top_logprobs, 0, kMaxTopLogprobs);
      if (top > 0) body["top_logprobs"] = top;
    }
    return body;
  }

  json completion_body(const GenerationRequest& request) const {
    json body = json::object();
    common_fields(request, body);
    body["prompt"] = *request.prompt;
    if (request.gbnf_grammar) {
      body["grammar"] = *request.gbnf_grammar;
    } else if (request.json_schema) {
      body["json_schema"] = *request.json_schema;  // llama-server
    }
    if (request.want_logprobs) {
      body["logprobs"] = std::clamp(request.top_logprobs, 1, kMaxTopLogprobs);
    }
    return body;
  }

  void fill_common(const json& reply, const json& choice, GenerationResult& result) const {
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
      result.finish_reason = choice["finish_reason"].get<std::string>();
    }
    result.model = reply.contains("model") && reply["model"].is_string() ? reply["model"].get<std::string>()
                                                                         : endpoint_.model().model;
    if (reply.contains("usage") && reply["usage"].is_object()) {
      const auto& usage = reply["usage"];
      result.prompt_tokens = usage_int(usage, "prompt_tokens");
      result.completion_tokens = usage_int(usage, "completion_tokens");
      if (usage.contains("prompt_tokens_details") && usage["prompt_tokens_details"].is_object()) {
        result.cached_prompt_tokens = usage_int(usage["prompt_tokens_details"], "cached_tokens");
      }
    }
    if (result.cached_prompt_tokens == 0 && reply.contains("timings")) {
      result.cached_prompt_tokens = usage_int(reply["timings"], "cache_n");  // llama-server
    }
  }

  Result<GenerationResult> parse_chat(const json& reply) const {
    const auto& choice = first_choice(reply);
    const auto& message = choice.at("message");
    if (!message.contains("content") || !message["content"].is_string()) {
      return endpoint_.error(ErrorCode::kBadResponse,
                             endpoint_.url(kChatPath) + ": choices[0].message has no text content");
    }
    GenerationResult result;
    result.text = message["content"].get<std::string>();
    if (choice.contains("logprobs") && choice["logprobs"].is_object() && choice["logprobs"].contains("content") &&
        choice["logprobs"]["content"].is_array()) {
      result.tokens = http::parse_token_logprobs(choice["logprobs"]["content"]);
    }
    result.has_logprobs = !result.tokens.empty();
    fill_common(reply, choice, result);
    return result;
  }

  Result<GenerationResult> parse_completion(const json& reply) const {
    const auto& choice = first_choice(reply);
    GenerationResult result;
    result.text = choice.at("text").get<std::string>();
    if (choice.contains("logprobs") && choice["logprobs"].is_object()) {
      const auto& logprobs = choice["logprobs"];
      if (logprobs.contains("content") && logprobs["content"].is_array()) {
        result.tokens = http::parse_token_logprobs(logprobs["content"]);  // llama-server
      } else if (logprobs.contains("tokens")) {
        result.tokens = parse_legacy_logprobs(logprobs);
      }
    }
    result.has_logprobs = !result.tokens.empty();
    fill_common(reply, choice, result);
    return result;
  }

  static const json& first_choice(const json& reply) {
    const auto& choices = reply.at("choices");
    if (!choices.is_array() || choices.empty()) {
      throw json::other_error::create(501, "choices is empty or not an array", &choices);
    }
    return choices.at(0);
  }

  http::JsonEndpoint endpoint_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_openai_backend(const ModelConfig& model, SleepFn sleep) {
  if (model.base_url.empty()) {
    return make_error(ErrorCode::kConfigInvalid, "models." + model.name + ".base_url: required for the openai backend");
  }
  auto url = http::parse_url(model.base_url);
  if (!url.ok()) {
    return make_error(ErrorCode::kConfigInvalid, "models." + model.name + ".base_url: " + url.status().message());
  }
  return std::unique_ptr<Backend>(std::make_unique<OpenAiBackend>(model, std::move(sleep)));
}

}  // namespace ladder
