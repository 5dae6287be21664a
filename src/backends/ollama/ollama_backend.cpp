#include "backends/ollama/ollama_backend.h"

#include <algorithm>

#include "backends/http/json_endpoint.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kChatPath = "/api/chat";
constexpr std::string_view kGeneratePath = "/api/generate";
constexpr std::string_view kTagsPath = "/api/tags";
constexpr int kMaxTopLogprobs = 20;

int count_field(const json& reply, const char* key) {
  if (!reply.contains(key) || reply[key].is_null()) return 0;
  return reply[key].get<int>();
}

class OllamaBackend final : public Backend {
 public:
  OllamaBackend(const ModelConfig& model, SleepFn sleep) : endpoint_("ollama", model, std::move(sleep)) {}

  Result<GenerationResult> generate(const GenerationRequest& request) override {
    const bool raw = request.messages.empty() && request.prompt.has_value();
    if (request.messages.empty() && !raw) {
      return endpoint_.error(ErrorCode::kInvalidArgument, "request has neither messages nor a prompt");
    }
    auto headers = auth_headers();
    if (!headers.ok()) return headers.status();
    json body = build_body(request, raw);
    const std::string_view path = raw ? kGeneratePath : kChatPath;
    return endpoint_.generate_with_retries(
        request.timeout, [&](milliseconds timeout, AttemptHints& hints) -> Result<GenerationResult> {
          auto reply = endpoint_.call(path, &body, headers.value(), timeout, hints);
          if (!reply.ok()) return reply.status();
          return http::parse_boundary<GenerationResult>(endpoint_, path, [&] { return parse(reply.value(), raw); });
        });
  }

  Status health() override {
    auto headers = auth_headers();
    if (!headers.ok()) return headers.status();
    return endpoint_.probe(kTagsPath, headers.value());
  }

  std::string kind() const override { return "ollama"; }
  std::string model() const override { return endpoint_.model().model; }

 private:
  // Ollama itself has no auth; a proxy in front of it may want a bearer token.
  Result<http::Headers> auth_headers() const { return endpoint_.bearer_headers(); }

  json build_body(const GenerationRequest& request, bool raw) const {
    json body = json::object();
    body["model"] = endpoint_.model().model;
    body["stream"] = false;
    body["keep_alive"] = endpoint_.model().keep_alive;
    body["options"] = {{"temperature", request.temperature}, {"num_predict", request.max_tokens}};
    if (raw) {
      body["prompt"] = *request.prompt;
      body["raw"] = true;
    } else {
      json messages = json::array();
      for (const auto& m : request.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
      body["messages"] = std::move(messages);
    }
    if (request.json_schema) body["format"] = *request.json_schema;
    if (request.want_logprobs) {
      body["logprobs"] = true;
      const int top = std::clamp(request.top_logprobs, 0, kMaxTopLogprobs);
      if (top > 0) body["top_logprobs"] = top;
    }
    return body;
  }

  Result<GenerationResult> parse(const json& reply, bool raw) const {
    GenerationResult result;
    if (raw) {
      result.text = reply.at("response").get<std::string>();
    } else {
      result.text = reply.at("message").at("content").get<std::string>();
    }
    if (reply.contains("done") && reply["done"].is_boolean() && !reply["done"].get<bool>()) {
      return endpoint_.error(ErrorCode::kBadResponse, endpoint_.url(raw ? kGeneratePath : kChatPath) +
                                                          ": answer not done although stream was false");
    }
    if (reply.contains("logprobs") && reply["logprobs"].is_array()) {
      result.tokens = http::parse_token_logprobs(reply["logprobs"]);
    }
    result.has_logprobs = !result.tokens.empty();
    result.prompt_tokens = count_field(reply, "prompt_eval_count");
    result.completion_tokens = count_field(reply, "eval_count");
    result.model = reply.contains("model") && reply["model"].is_string() ? reply["model"].get<std::string>()
                                                                         : endpoint_.model().model;
    if (reply.contains("done_reason") && reply["done_reason"].is_string()) {
      result.finish_reason = reply["done_reason"].get<std::string>();
    }
    return result;
  }

  http::JsonEndpoint endpoint_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_ollama_backend(const ModelConfig& model, SleepFn sleep) {
  if (model.base_url.empty()) {
    return make_error(ErrorCode::kConfigInvalid, "models." + model.name + ".base_url: required for the ollama backend");
  }
  if (model.model.empty()) {
    return make_error(ErrorCode::kConfigInvalid, "models." + model.name + ".model: required for the ollama backend");
  }
  auto url = http::parse_url(model.base_url);
  if (!url.ok()) {
    return make_error(ErrorCode::kConfigInvalid, "models." + model.name + ".base_url: " + url.status().message());
  }
  return std::unique_ptr<Backend>(std::make_unique<OllamaBackend>(model, std::move(sleep)));
}

}  // namespace ladder
