#include "backends/openai/openai_backend.h"

#include <algorithm>
#include <limits>

#include "backends/http/event_stream.h"
#include "backends/http/forward.h"
#include "backends/http/json_endpoint.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kChatPath = "/v1/chat/completions";
constexpr std::string_view kCompletionPath = "/v1/completions";
constexpr std::string_view kModelsPath = "/v1/models";
constexpr int kMaxTopLogprobs = 20;  // OpenAI's limit
constexpr std::string_view kDoneData = "[DONE]";
constexpr std::string_view kDoneLine = "data: [DONE]";  // the line that ends a complete stream

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

// An in-band stream error {"error": {...}}: rate limits keep their code, the rest is the
// upstream's failure.
ErrorCode stream_error_code(const json& error) {
  auto mentions = [&](const char* key, std::string_view word) {
    return error.is_object() && error.contains(key) && error[key].is_string() &&
           error[key].get<std::string>().find(word) != std::string::npos;
  };
  const bool code_429 = error.is_object() && error.contains("code") && error["code"].is_number_integer() &&
                        error["code"].get<long long>() == 429;
  if (code_429 || mentions("type", "rate_limit") || mentions("code", "rate_limit")) return ErrorCode::kRateLimited;
  return ErrorCode::kUpstreamError;
}

// What a relayed chat reply (or one streamed chunk of it) says for the audit record: usage,
// model, finish reason, and the tool calls (a streamed call counts once, on the delta
// that carries its id).
void read_forwarded(const json& reply, bool streamed, ForwardReply& out) {
  if (reply.contains("usage") && reply["usage"].is_object()) {
    out.prompt_tokens = http::json_int(reply["usage"], "prompt_tokens");
    out.completion_tokens = http::json_int(reply["usage"], "completion_tokens");
  }
  if (reply.contains("model") && reply["model"].is_string()) out.model = reply["model"].get<std::string>();
  if (!reply.contains("choices") || !reply["choices"].is_array() || reply["choices"].empty()) return;
  const json& choice = reply["choices"][0];
  if (!choice.is_object()) return;
  if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
    out.finish_reason = choice["finish_reason"].get<std::string>();
  const char* part = streamed ? "delta" : "message";
  if (!choice.contains(part) || !choice[part].is_object()) return;
  const json& message = choice[part];
  if (!message.contains("tool_calls") || !message["tool_calls"].is_array()) return;
  for (const auto& call : message["tool_calls"])
    if (!streamed || (call.is_object() && call.contains("id"))) ++out.tool_calls;
}

class OpenAiBackend final : public Backend {
 public:
  OpenAiBackend(const ModelConfig& model, SleepFn sleep) : endpoint_("openai", model, std::move(sleep)) {}

  Result<GenerationResult> generate(const GenerationRequest& request) override {
    auto call = outgoing(request, /*stream=*/false);
    if (!call.ok()) return call.status();
    return endpoint_.generate_with_retries(request.timeout, [&](milliseconds timeout) -> Result<GenerationResult> {
      auto reply = endpoint_.call(call->path, &call->body, call->headers, timeout);
      if (!reply.ok()) return reply.status();
      return parse_reply(reply.value(), call->raw, call->path);
    });
  }

  Result<GenerationResult> generate_stream(const GenerationRequest& request, const DeltaFn& on_delta) override {
    auto call = outgoing(request, /*stream=*/true);
    if (!call.ok()) return call.status();
    bool delivered = false;
    return http::stream_with_retries(
        endpoint_, request.timeout, delivered, [&](milliseconds timeout) -> Result<GenerationResult> {
          return read_stream(call->raw, call->path, on_delta, delivered, [&](const http::LineFn& on_line) {
            return http::stream_lines(endpoint_, client_, call->path, call->body, call->headers, timeout,
                                      request.inter_token_timeout, on_line);
          });
        });
  }

  bool generates_async() const override { return true; }
  bool generate_async(const GenerationRequest& request, const http::Client& client, DeltaFn on_delta,
                      GenerateDoneFn done) override {
    const bool stream = static_cast<bool>(on_delta);
    auto call = outgoing(request, stream);
    Result<http::GenerateWire> wire = call.status();
    if (call.ok()) {
      const bool raw = call->raw;
      const std::string_view path = call->path;
      wire = http::GenerateWire{
          path,
          std::move(call->headers),
          std::move(call->body),
          kDoneLine,
          [this, raw, path](const json& reply) { return parse_reply(reply, raw, path); },
          [this, raw, path](const http::SseEvent& event, http::StreamState& state, const DeltaFn& deltas,
                            bool& delivered) { return on_event(event, raw, path, state, deltas, delivered); }};
    }
    http::generate_exchange_async(endpoint_, client, request, std::move(wire), std::move(on_delta), std::move(done));
    return true;
  }

  // generate()'s or generate_stream()'s reading of an answer, without the network.
  Result<GenerationResult> replay(const http::ReplayedAnswer& answer, const DeltaFn& on_delta) const {
    const std::string_view path = answer.raw ? kCompletionPath : kChatPath;
    bool delivered = false;
    return http::replay_answer(
        endpoint_, path, answer, [&](const json& reply) { return parse_reply(reply, answer.raw, path); },
        [&](const auto& transport) { return read_stream(answer.raw, path, on_delta, delivered, transport); });
  }

  Status health() override {
    auto headers = auth_headers();
    if (!headers.ok()) return headers.status();
    return endpoint_.probe(kModelsPath, headers.value());
  }

  bool forwards(WireApi api) const override { return api == WireApi::kOpenAiChat; }

  Result<ForwardReply> forward(const ForwardRequest& request, const ChunkFn& on_chunk) override {
    if (request.api != WireApi::kOpenAiChat) return Backend::forward(request, on_chunk);
    return http::forward_exchange(endpoint_, client_, request, forward_wire(), on_chunk);
  }

  bool forwards_async(WireApi api) const override { return forwards(api); }
  bool forward_async(const ForwardRequest& request, const http::Client& client, ChunkFn on_chunk,
                     ForwardDoneFn done) override {
    if (request.api != WireApi::kOpenAiChat) return false;
    http::forward_exchange_async(endpoint_, client, request, forward_wire(), std::move(on_chunk), std::move(done));
    return true;
  }

  std::string kind() const override { return "openai"; }
  std::string model() const override { return endpoint_.model().model; }

 private:
  Result<http::ForwardWire> forward_wire() const {
    auto headers = auth_headers();
    if (!headers.ok()) return headers.status();
    return http::ForwardWire{kChatPath, headers.value(), read_forwarded,
                             [](std::string_view line) { return line == kDoneLine; }};
  }
  Result<http::Headers> auth_headers() const { return endpoint_.bearer_headers(); }

  // A generation request on the wire: the chat API, or the completion API for a raw prompt.
  Result<http::GenerateCall> outgoing(const GenerationRequest& request, bool stream) const {
    auto call = http::generate_call(endpoint_, request, auth_headers(), kChatPath, kCompletionPath);
    if (!call.ok()) return call;
    http::GenerateCall& out = *call;
    out.body = out.raw ? completion_body(request) : chat_body(request);
    if (stream) {
      out.body["stream"] = true;
      out.body["stream_options"] = {{"include_usage", true}};
    }
    return call;
  }

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
    fill_usage(reply, result);
  }

  static void fill_usage(const json& reply, GenerationResult& result) {
    if (reply.contains("usage") && reply["usage"].is_object()) {
      const auto& usage = reply["usage"];
      result.prompt_tokens = http::json_int(usage, "prompt_tokens");
      result.completion_tokens = http::json_int(usage, "completion_tokens");
      if (usage.contains("prompt_tokens_details") && usage["prompt_tokens_details"].is_object()) {
        result.cached_prompt_tokens = http::json_int(usage["prompt_tokens_details"], "cached_tokens");
      }
    }
    if (result.cached_prompt_tokens == 0 && reply.contains("timings")) {
      result.cached_prompt_tokens = http::json_int(reply["timings"], "cache_n");  // llama-server
    }
  }

  Result<GenerationResult> parse_reply(const json& reply, bool raw, std::string_view path) const {
    return http::parse_boundary<GenerationResult>(endpoint_, path,
                                                  [&] { return raw ? parse_completion(reply) : parse_chat(reply); });
  }

  // One streamed attempt: `transport` hands the body's lines to its argument and says
  // how the exchange ended.
  Result<GenerationResult> read_stream(bool raw, std::string_view path, const DeltaFn& on_delta, bool& delivered,
                                       const std::function<Status(const http::LineFn&)>& transport) const {
    http::StreamState state;
    http::SseDecoder sse;
    Status ended = transport([&](std::string_view line) {
      return http::feed_sse(sse, line, endpoint_, path, state, [&](const http::SseEvent& event) {
        return on_event(event, raw, path, state, on_delta, delivered);
      });
    });
    return http::finish_stream(endpoint_, path, std::move(state), ended, kDoneLine);
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

  // One SSE event of a stream; false ends the stream (terminator, failure, or the
  // consumer stopped).
  bool on_event(const http::SseEvent& event, bool raw, std::string_view path, http::StreamState& state,
                const DeltaFn& on_delta, bool& delivered) const {
    if (event.data == kDoneData) {
      state.finished = true;
      return false;
    }
    const std::string url = endpoint_.url(path);
    auto chunk = json::parse(event.data, nullptr, /*allow_exceptions=*/false);
    if (chunk.is_discarded() || !chunk.is_object()) {
      state.failure =
          endpoint_.error(ErrorCode::kBadResponse,
                          url + ": stream event is not a JSON object: " + http::upstream_error_text(event.data));
      return false;
    }
    if (chunk.contains("error")) {
      state.failure = endpoint_.error(stream_error_code(chunk["error"]),
                                      url + ": error in the stream: " + http::upstream_error_text(event.data));
      return false;
    }
    std::string delta;
    try {
      delta = apply_chunk(chunk, raw, state.result);
    } catch (const json::exception& e) {
      state.failure = endpoint_.error(ErrorCode::kBadResponse, url + ": unexpected stream event shape: " + e.what());
      return false;
    }
    return state.emit(delta, on_delta, delivered);
  }

  // Folds one chunk (chat.completion.chunk or text_completion) into `result`; returns its
  // text. A chunk without choices carries usage only.
  std::string apply_chunk(const json& chunk, bool raw, GenerationResult& result) const {
    if (chunk.contains("model") && chunk["model"].is_string()) result.model = chunk["model"].get<std::string>();
    fill_usage(chunk, result);
    if (!chunk.contains("choices") || chunk["choices"].is_null()) return {};
    const auto& choices = chunk["choices"].get_ref<const json::array_t&>();
    if (choices.empty()) return {};
    const auto& choice = choices.at(0);
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
      result.finish_reason = choice["finish_reason"].get<std::string>();
    }
    std::string text;
    if (raw) {
      if (choice.contains("text") && choice["text"].is_string()) text = choice["text"].get<std::string>();
    } else if (choice.contains("delta") && choice["delta"].is_object()) {
      const auto& delta = choice["delta"];
      if (delta.contains("content") && delta["content"].is_string()) text = delta["content"].get<std::string>();
    }
    if (choice.contains("logprobs") && choice["logprobs"].is_object()) {
      const auto& logprobs = choice["logprobs"];
      std::vector<TokenLogprob> tokens;
      if (logprobs.contains("content") && logprobs["content"].is_array()) {
        tokens = http::parse_token_logprobs(logprobs["content"]);
      } else if (raw && logprobs.contains("tokens")) {
        tokens = parse_legacy_logprobs(logprobs);
      }
      for (auto& token : tokens) result.tokens.push_back(std::move(token));
      result.has_logprobs = !result.tokens.empty();
    }
    return text;
  }

  static const json& first_choice(const json& reply) {
    const auto& choices = reply.at("choices");
    if (!choices.is_array() || choices.empty()) {
      throw json::other_error::create(501, "choices is empty or not an array", &choices);
    }
    return choices.at(0);
  }

  http::JsonEndpoint endpoint_;
  http::Client client_;  // streamed exchanges
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

Result<GenerationResult> replay_openai_answer(const Backend& backend, const http::ReplayedAnswer& answer,
                                              const DeltaFn& on_delta) {
  const auto* openai = dynamic_cast<const OpenAiBackend*>(&backend);
  if (openai == nullptr) return make_error(ErrorCode::kInternal, "replay_openai_answer: not an openai backend");
  return openai->replay(answer, on_delta);
}

}  // namespace ladder
