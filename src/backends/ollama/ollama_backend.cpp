#include "backends/ollama/ollama_backend.h"

#include <algorithm>

#include "backends/http/event_stream.h"
#include "backends/http/forward.h"
#include "backends/http/json_endpoint.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kChatPath = "/api/chat";
constexpr std::string_view kGeneratePath = "/api/generate";
constexpr std::string_view kTagsPath = "/api/tags";
constexpr int kMaxTopLogprobs = 20;
// What a complete stream ends with (for the message when one does not).
constexpr std::string_view kStreamEnd = "a line with \"done\": true";

class OllamaBackend final : public Backend {
 public:
  OllamaBackend(const ModelConfig& model, SleepFn sleep) : endpoint_("ollama", model, std::move(sleep)) {}

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
    auto call = outgoing(request, /*stream=*/static_cast<bool>(on_delta));
    Result<http::GenerateWire> wire = call.status();
    if (call.ok()) {
      const bool raw = call->raw;
      const std::string_view path = call->path;
      wire = http::GenerateWire{
          path,
          std::move(call->headers),
          std::move(call->body),
          kStreamEnd,
          [this, raw, path](const json& reply) { return parse_reply(reply, raw, path); },
          {},
          [this, raw, path](std::string_view line, http::StreamState& state, const DeltaFn& deltas, bool& delivered) {
            return on_line(line, raw, path, state, deltas, delivered);
          }};
    }
    http::generate_exchange_async(endpoint_, client, request, std::move(wire), std::move(on_delta), std::move(done));
    return true;
  }

  // generate()'s or generate_stream()'s reading of an answer, without the network.
  Result<GenerationResult> replay(const http::ReplayedAnswer& answer, const DeltaFn& on_delta) const {
    const std::string_view path = answer.raw ? kGeneratePath : kChatPath;
    bool delivered = false;
    return http::replay_answer(
        endpoint_, path, answer, [&](const json& reply) { return parse_reply(reply, answer.raw, path); },
        [&](const auto& transport) { return read_stream(answer.raw, path, on_delta, delivered, transport); });
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

  // A generation request on the wire: the chat API, or the generate API for a raw prompt.
  Result<http::GenerateCall> outgoing(const GenerationRequest& request, bool stream) const {
    auto call = http::generate_call(endpoint_, request, auth_headers(), kChatPath, kGeneratePath);
    if (call.ok()) call->body = build_body(request, call->raw, stream);
    return call;
  }

  json build_body(const GenerationRequest& request, bool raw, bool stream) const {
    json body = json::object();
    body["model"] = endpoint_.model().model;
    body["stream"] = stream;
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

  Result<GenerationResult> parse_reply(const json& reply, bool raw, std::string_view path) const {
    return http::parse_boundary<GenerationResult>(endpoint_, path, [&] { return parse(reply, raw); });
  }

  // One streamed attempt: `transport` hands the body's lines to its argument and says
  // how the exchange ended.
  Result<GenerationResult> read_stream(bool raw, std::string_view path, const DeltaFn& on_delta, bool& delivered,
                                       const std::function<Status(const http::LineFn&)>& transport) const {
    http::StreamState state;
    Status ended =
        transport([&](std::string_view line) { return on_line(line, raw, path, state, on_delta, delivered); });
    return http::finish_stream(endpoint_, path, std::move(state), ended, kStreamEnd);
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
    result.prompt_tokens = http::json_int(reply, "prompt_eval_count");
    result.completion_tokens = http::json_int(reply, "eval_count");
    result.model = reply.contains("model") && reply["model"].is_string() ? reply["model"].get<std::string>()
                                                                         : endpoint_.model().model;
    if (reply.contains("done_reason") && reply["done_reason"].is_string()) {
      result.finish_reason = reply["done_reason"].get<std::string>();
    }
    return result;
  }

  // One NDJSON line of a stream; false ends the stream (done, failure, or the consumer
  // stopped).
  bool on_line(std::string_view line, bool raw, std::string_view path, http::StreamState& state,
               const DeltaFn& on_delta, bool& delivered) const {
    if (line.find_first_not_of(" \t") == std::string_view::npos) return true;
    const std::string url = endpoint_.url(path);
    auto chunk = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (chunk.is_discarded() || !chunk.is_object()) {
      state.failure = endpoint_.error(ErrorCode::kBadResponse,
                                      url + ": stream line is not a JSON object: " + http::upstream_error_text(line));
      return false;
    }
    if (chunk.contains("error")) {
      state.failure =
          endpoint_.error(ErrorCode::kUpstreamError, url + ": error in the stream: " + http::upstream_error_text(line));
      return false;
    }
    std::string delta;
    try {
      delta = apply_chunk(chunk, raw, state);
    } catch (const json::exception& e) {
      state.failure = endpoint_.error(ErrorCode::kBadResponse, url + ": unexpected stream line shape: " + e.what());
      return false;
    }
    if (!state.emit(delta, on_delta, delivered)) return false;
    return !state.finished;
  }

  // Folds one line into the state; returns its text.
  static std::string apply_chunk(const json& chunk, bool raw, http::StreamState& state) {
    GenerationResult& result = state.result;
    std::string text;
    if (raw) {
      if (chunk.contains("response")) text = chunk["response"].get<std::string>();
    } else if (chunk.contains("message")) {
      const auto& message = chunk["message"];
      if (message.contains("content") && !message["content"].is_null()) text = message["content"].get<std::string>();
    }
    if (chunk.contains("model") && chunk["model"].is_string()) result.model = chunk["model"].get<std::string>();
    if (chunk.contains("logprobs") && chunk["logprobs"].is_array()) {
      for (auto& token : http::parse_token_logprobs(chunk["logprobs"])) result.tokens.push_back(std::move(token));
      result.has_logprobs = !result.tokens.empty();
    }
    if (chunk.contains("done") && chunk["done"].is_boolean() && chunk["done"].get<bool>()) {
      state.finished = true;
      result.prompt_tokens = http::json_int(chunk, "prompt_eval_count");
      result.completion_tokens = http::json_int(chunk, "eval_count");
      if (chunk.contains("done_reason") && chunk["done_reason"].is_string()) {
        result.finish_reason = chunk["done_reason"].get<std::string>();
      }
    }
    return text;
  }

  http::JsonEndpoint endpoint_;
  http::Client client_;  // streamed exchanges
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

Result<GenerationResult> replay_ollama_answer(const Backend& backend, const http::ReplayedAnswer& answer,
                                              const DeltaFn& on_delta) {
  const auto* ollama = dynamic_cast<const OllamaBackend*>(&backend);
  if (ollama == nullptr) return make_error(ErrorCode::kInternal, "replay_ollama_answer: not an ollama backend");
  return ollama->replay(answer, on_delta);
}

}  // namespace ladder
