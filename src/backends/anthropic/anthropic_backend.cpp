#include "backends/anthropic/anthropic_backend.h"

#include "backends/http/json_endpoint.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kMessagesPath = "/v1/messages";
constexpr std::string_view kModelsPath = "/v1/models";

int usage_int(const json& usage, const char* key) {
  if (!usage.contains(key) || usage[key].is_null()) return 0;
  return usage[key].get<int>();
}

class AnthropicBackend final : public Backend {
 public:
  AnthropicBackend(const ModelConfig& model, SleepFn sleep) : endpoint_("anthropic", model, std::move(sleep)) {}

  Result<GenerationResult> generate(const GenerationRequest& request) override {
    auto body = build_body(request);
    if (!body.ok()) return body.status();
    auto headers = request_headers();
    if (!headers.ok()) return headers.status();
    return endpoint_.generate_with_retries(
        request.timeout, [&](milliseconds timeout, AttemptHints& hints) -> Result<GenerationResult> {
          auto reply = endpoint_.call(kMessagesPath, &body.value(), headers.value(), timeout, hints);
          if (!reply.ok()) return reply.status();
          return http::parse_boundary<GenerationResult>(endpoint_, kMessagesPath, [&] { return parse(reply.value()); });
        });
  }

  Status health() override {
    auto headers = request_headers();
    if (!headers.ok()) return headers.status();
    return endpoint_.probe(kModelsPath, headers.value());
  }

  std::string kind() const override { return "anthropic"; }
  std::string model() const override { return endpoint_.model().model; }

 private:
  Result<http::Headers> request_headers() const {
    auto key = endpoint_.api_key();
    if (!key.ok()) return key.status();
    http::Headers headers;
    if (key.value()) headers.emplace_back("x-api-key", *key.value());
    headers.emplace_back("anthropic-version", endpoint_.model().anthropic_version);
    return headers;
  }

  Result<json> build_body(const GenerationRequest& request) const {
    std::string system;
    json messages = json::array();
    for (const auto& m : request.messages) {
      if (m.role == "system") {
        if (!system.empty()) system += "\n\n";
        system += m.content;
      } else {
        messages.push_back({{"role", m.role}, {"content", m.content}});
      }
    }
    if (messages.empty() && request.prompt) {
      messages.push_back({{"role", "user"}, {"content", *request.prompt}});
    }
    if (messages.empty()) {
      return endpoint_.error(ErrorCode::kInvalidArgument,
                             "request has no user message (only system messages or nothing)");
    }
    json body = {{"model", endpoint_.model().model},
                 {"max_tokens", request.max_tokens},
                 {"temperature", request.temperature},
                 {"messages", std::move(messages)}};
    if (!system.empty()) body["system"] = system;
    return body;
  }

  Result<GenerationResult> parse(const json& reply) const {
    if (reply.contains("type") && reply["type"].is_string() && reply["type"] != "message") {
      return endpoint_.error(ErrorCode::kBadResponse, endpoint_.url(kMessagesPath) + ": unexpected response type '" +
                                                          reply["type"].get<std::string>() + "'");
    }
    GenerationResult result;
    bool any_text = false;
    for (const auto& block : reply.at("content").get_ref<const json::array_t&>()) {
      if (block.at("type").get<std::string>() != "text") continue;
      result.text += block.at("text").get<std::string>();
      any_text = true;
    }
    if (!any_text) {
      return endpoint_.error(ErrorCode::kBadResponse,
                             endpoint_.url(kMessagesPath) + ": response has no text content block");
    }
    result.has_logprobs = false;
    if (reply.contains("usage") && reply["usage"].is_object()) {
      const auto& usage = reply["usage"];
      result.prompt_tokens = usage_int(usage, "input_tokens");
      result.completion_tokens = usage_int(usage, "output_tokens");
      result.cached_prompt_tokens = usage_int(usage, "cache_read_input_tokens");
    }
    result.model = reply.contains("model") && reply["model"].is_string() ? reply["model"].get<std::string>()
                                                                         : endpoint_.model().model;
    if (reply.contains("stop_reason") && reply["stop_reason"].is_string()) {
      result.finish_reason = reply["stop_reason"].get<std::string>();
    }
    return result;
  }

  http::JsonEndpoint endpoint_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_anthropic_backend(const ModelConfig& model, SleepFn sleep) {
  if (model.base_url.empty()) {
    return make_error(ErrorCode::kConfigInvalid,
                      "models." + model.name + ".base_url: required for the anthropic backend");
  }
  if (model.model.empty()) {
    return make_error(ErrorCode::kConfigInvalid, "models." + model.name + ".model: required for the anthropic backend");
  }
  auto url = http::parse_url(model.base_url);
  if (!url.ok()) {
    return make_error(ErrorCode::kConfigInvalid, "models." + model.name + ".base_url: " + url.status().message());
  }
  return std::unique_ptr<Backend>(std::make_unique<AnthropicBackend>(model, std::move(sleep)));
}

}  // namespace ladder
