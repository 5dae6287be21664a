#include "backends/anthropic/anthropic_backend.h"

#include "backends/http/event_stream.h"
#include "backends/http/forward.h"
#include "backends/http/json_endpoint.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kMessagesPath = "/v1/messages";
constexpr std::string_view kModelsPath = "/v1/models";
constexpr std::string_view kStopLine = "event: message_stop";  // the line that ends a complete stream

std::string string_field(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return {};
  return object[key].get<std::string>();
}

// An `event: error` in a stream, by Anthropic's error type.
ErrorCode stream_error_code(const json& data) {
  const std::string type = data.is_object() && data.contains("error") ? string_field(data["error"], "type") : "";
  if (type == "rate_limit_error") return ErrorCode::kRateLimited;
  if (type == "invalid_request_error" || type == "authentication_error" || type == "permission_error" ||
      type == "not_found_error" || type == "request_too_large") {
    return ErrorCode::kUpstreamRejected;
  }
  return ErrorCode::kUpstreamError;  // overloaded_error, api_error, anything new
}

// What a relayed Messages reply (or one streamed event of it) says for the audit record:
// usage (input from message_start or the whole reply, output from message_delta or the
// whole reply), model, stop_reason as the finish reason, and the tool_use blocks as tool
// calls (a streamed one counts once, on its content_block_start).
void read_forwarded(const json& reply, bool streamed, ForwardReply& out) {
  const json* usage = nullptr;
  const json* message = &reply;
  const std::string type = string_field(reply, "type");
  if (streamed && type == "message_start" && reply.contains("message") && reply["message"].is_object()) {
    message = &reply["message"];
  } else if (streamed && type == "message_delta") {
    if (reply.contains("usage") && reply["usage"].is_object()) {
      const json& u = reply["usage"];
      if (u.contains("output_tokens")) out.completion_tokens = http::json_int(u, "output_tokens");
      if (u.contains("input_tokens")) out.prompt_tokens = http::json_int(u, "input_tokens");
    }
    if (reply.contains("delta")) {
      const std::string stop = string_field(reply["delta"], "stop_reason");
      if (!stop.empty()) out.finish_reason = stop;
    }
    return;
  } else if (streamed) {
    if (type == "content_block_start" && reply.contains("content_block") &&
        string_field(reply["content_block"], "type") == "tool_use")
      ++out.tool_calls;
    return;
  }
  if (message->contains("usage") && (*message)["usage"].is_object()) usage = &(*message)["usage"];
  if (usage != nullptr) {
    out.prompt_tokens = http::json_int(*usage, "input_tokens");
    out.completion_tokens = http::json_int(*usage, "output_tokens");
  }
  if (const std::string model = string_field(*message, "model"); !model.empty()) out.model = model;
  if (const std::string stop = string_field(*message, "stop_reason"); !stop.empty()) out.finish_reason = stop;
  if (streamed || !message->contains("content") || !(*message)["content"].is_array()) return;
  for (const auto& block : (*message)["content"])
    if (string_field(block, "type") == "tool_use") ++out.tool_calls;
}

class AnthropicBackend final : public Backend {
 public:
  AnthropicBackend(const ModelConfig& model, SleepFn sleep) : endpoint_("anthropic", model, std::move(sleep)) {}

  Result<GenerationResult> generate(const GenerationRequest& request) override {
    auto call = outgoing(request, /*stream=*/false);
    if (!call.ok()) return call.status();
    return endpoint_.generate_with_retries(request.timeout, [&](milliseconds timeout) -> Result<GenerationResult> {
      auto reply = endpoint_.call(kMessagesPath, &call->body, call->headers, timeout);
      if (!reply.ok()) return reply.status();
      return parse_reply(reply.value());
    });
  }

  Result<GenerationResult> generate_stream(const GenerationRequest& request, const DeltaFn& on_delta) override {
    auto call = outgoing(request, /*stream=*/true);
    if (!call.ok()) return call.status();
    bool delivered = false;
    return http::stream_with_retries(
        endpoint_, request.timeout, delivered, [&](milliseconds timeout) -> Result<GenerationResult> {
          return read_stream(on_delta, delivered, [&](const http::LineFn& on_line) {
            return http::stream_lines(endpoint_, client_, kMessagesPath, call->body, call->headers, timeout,
                                      request.inter_token_timeout, on_line);
          });
        });
  }

  bool generates_async() const override { return true; }
  bool generate_async(const GenerationRequest& request, const http::Client& client, DeltaFn on_delta,
                      GenerateDoneFn done) override {
    auto call = outgoing(request, static_cast<bool>(on_delta));
    Result<http::GenerateWire> wire = call.status();
    if (call.ok()) {
      wire = http::GenerateWire{kMessagesPath,
                                std::move(call->headers),
                                std::move(call->body),
                                kStopLine,
                                [this](const json& reply) { return parse_reply(reply); },
                                [this](const http::SseEvent& event, http::StreamState& state, const DeltaFn& deltas,
                                       bool& delivered) { return on_event(event, state, deltas, delivered); }};
    }
    http::generate_exchange_async(endpoint_, client, request, std::move(wire), std::move(on_delta), std::move(done));
    return true;
  }

  // generate()'s or generate_stream()'s reading of an answer, without the network.
  Result<GenerationResult> replay(const http::ReplayedAnswer& answer, const DeltaFn& on_delta) const {
    bool delivered = false;
    return http::replay_answer(
        endpoint_, kMessagesPath, answer, [&](const json& reply) { return parse_reply(reply); },
        [&](const auto& transport) { return read_stream(on_delta, delivered, transport); });
  }

  Status health() override {
    auto headers = request_headers();
    if (!headers.ok()) return headers.status();
    return endpoint_.probe(kModelsPath, headers.value());
  }

  bool forwards(WireApi api) const override { return api == WireApi::kAnthropicMessages; }

  Result<ForwardReply> forward(const ForwardRequest& request, const ChunkFn& on_chunk) override {
    if (request.api != WireApi::kAnthropicMessages) return Backend::forward(request, on_chunk);
    return http::forward_exchange(endpoint_, client_, request, forward_wire(), on_chunk);
  }

  bool forwards_async(WireApi api) const override { return forwards(api); }
  bool forward_async(const ForwardRequest& request, const http::Client& client, ChunkFn on_chunk,
                     ForwardDoneFn done) override {
    if (request.api != WireApi::kAnthropicMessages) return false;
    http::forward_exchange_async(endpoint_, client, request, forward_wire(), std::move(on_chunk), std::move(done));
    return true;
  }

  std::string kind() const override { return "anthropic"; }
  std::string model() const override { return endpoint_.model().model; }

 private:
  Result<http::ForwardWire> forward_wire() const {
    auto headers = request_headers();
    if (!headers.ok()) return headers.status();
    return http::ForwardWire{kMessagesPath, headers.value(), read_forwarded,
                             [](std::string_view line) { return line == kStopLine; }};
  }
  Result<http::Headers> request_headers() const {
    auto key = endpoint_.api_key();
    if (!key.ok()) return key.status();
    http::Headers headers;
    if (key.value()) headers.emplace_back("x-api-key", *key.value());
    headers.emplace_back("anthropic-version", endpoint_.model().anthropic_version);
    return headers;
  }

  // A generation request on the wire: the Messages body and the headers.
  struct Outgoing {
    json body;
    http::Headers headers;
  };
  Result<Outgoing> outgoing(const GenerationRequest& request, bool stream) const {
    auto body = build_body(request);
    if (!body.ok()) return body.status();
    auto headers = request_headers();
    if (!headers.ok()) return headers.status();
    Outgoing out{std::move(body).value(), std::move(headers).value()};
    if (stream) out.body["stream"] = true;
    return out;
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

  Result<GenerationResult> parse_reply(const json& reply) const {
    return http::parse_boundary<GenerationResult>(endpoint_, kMessagesPath, [&] { return parse(reply); });
  }

  // One streamed attempt: `transport` hands the body's lines to its argument and says
  // how the exchange ended.
  Result<GenerationResult> read_stream(const DeltaFn& on_delta, bool& delivered,
                                       const std::function<Status(const http::LineFn&)>& transport) const {
    http::StreamState state;
    http::SseDecoder sse;
    Status ended = transport([&](std::string_view line) {
      return http::feed_sse(sse, line, endpoint_, kMessagesPath, state,
                            [&](const http::SseEvent& event) { return on_event(event, state, on_delta, delivered); });
    });
    return http::finish_stream(endpoint_, kMessagesPath, std::move(state), ended, "message_stop");
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
      result.prompt_tokens = http::json_int(usage, "input_tokens");
      result.completion_tokens = http::json_int(usage, "output_tokens");
      result.cached_prompt_tokens = http::json_int(usage, "cache_read_input_tokens");
    }
    result.model = reply.contains("model") && reply["model"].is_string() ? reply["model"].get<std::string>()
                                                                         : endpoint_.model().model;
    if (reply.contains("stop_reason") && reply["stop_reason"].is_string()) {
      result.finish_reason = reply["stop_reason"].get<std::string>();
    }
    return result;
  }

  // One SSE event of a stream; false ends the stream (message_stop, failure, or the
  // consumer stopped).
  bool on_event(const http::SseEvent& event, http::StreamState& state, const DeltaFn& on_delta, bool& delivered) const {
    const std::string url = endpoint_.url(kMessagesPath);
    auto data = json::parse(event.data, nullptr, /*allow_exceptions=*/false);
    const std::string type = data.is_object() && data.contains("type") && data["type"].is_string()
                                 ? data["type"].get<std::string>()
                                 : event.event;
    if (event.event == "error" || type == "error") {
      state.failure = endpoint_.error(stream_error_code(data),
                                      url + ": error event in the stream: " + http::upstream_error_text(event.data));
      return false;
    }
    if (data.is_discarded() || !data.is_object()) {
      state.failure = endpoint_.error(
          ErrorCode::kBadResponse,
          url + ": stream event '" + event.event + "' is not a JSON object: " + http::upstream_error_text(event.data));
      return false;
    }
    std::string delta;
    try {
      delta = apply_event(type, data, state);
    } catch (const json::exception& e) {
      state.failure = endpoint_.error(ErrorCode::kBadResponse,
                                      url + ": unexpected shape of stream event '" + type + "': " + e.what());
      return false;
    }
    if (state.finished) return false;
    return state.emit(delta, on_delta, delivered);
  }

  // Folds one event into the state; returns the text it adds. Unknown event types
  // (ping, content_block_stop, new ones) add nothing.
  std::string apply_event(const std::string& type, const json& data, http::StreamState& state) const {
    GenerationResult& result = state.result;
    if (type == "message_start") {
      const auto& message = data.at("message");
      if (message.contains("model") && message["model"].is_string()) result.model = message["model"].get<std::string>();
      if (message.contains("usage") && message["usage"].is_object()) {
        const auto& usage = message["usage"];
        result.prompt_tokens = http::json_int(usage, "input_tokens");
        result.completion_tokens = http::json_int(usage, "output_tokens");
        result.cached_prompt_tokens = http::json_int(usage, "cache_read_input_tokens");
      }
    } else if (type == "content_block_start") {
      const auto& block = data.at("content_block");
      if (string_field(block, "type") == "text") return string_field(block, "text");
    } else if (type == "content_block_delta") {
      const auto& delta = data.at("delta");
      if (string_field(delta, "type") == "text_delta") return delta.at("text").get<std::string>();
    } else if (type == "message_delta") {
      const auto& delta = data.at("delta");
      if (delta.contains("stop_reason") && delta["stop_reason"].is_string()) {
        result.finish_reason = delta["stop_reason"].get<std::string>();
      }
      if (data.contains("usage") && data["usage"].is_object()) {
        const auto& usage = data["usage"];
        if (usage.contains("output_tokens")) result.completion_tokens = http::json_int(usage, "output_tokens");
        if (usage.contains("input_tokens")) result.prompt_tokens = http::json_int(usage, "input_tokens");
      }
    } else if (type == "message_stop") {
      state.finished = true;
    }
    return {};
  }

  http::JsonEndpoint endpoint_;
  http::Client client_;  // streamed exchanges
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

Result<GenerationResult> replay_anthropic_answer(const Backend& backend, const http::ReplayedAnswer& answer,
                                                 const DeltaFn& on_delta) {
  const auto* anthropic = dynamic_cast<const AnthropicBackend*>(&backend);
  if (anthropic == nullptr)
    return make_error(ErrorCode::kInternal, "replay_anthropic_answer: not an anthropic backend");
  return anthropic->replay(answer, on_delta);
}

}  // namespace ladder
