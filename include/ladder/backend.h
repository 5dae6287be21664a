// A model endpoint: one implementation per folder under src/backends/.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder {

namespace http {
class Client;
}

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

struct GenerationRequest {
  // Chat form, used by every backend. The embedded backend may instead use `prompt`
  // (raw completion text) when the task's template renders one.
  std::vector<ChatMessage> messages;
  std::optional<std::string> prompt;
  // When set, decoding is constrained to this JSON Schema (grammar for llama.cpp,
  // response_format json_schema for OpenAI-compatible servers, format for Ollama).
  std::optional<nlohmann::json> json_schema;
  // Extra GBNF grammar; overrides json_schema for backends that accept grammars.
  std::optional<std::string> gbnf_grammar;
  int max_tokens = 256;
  double temperature = 0.0;
  bool want_logprobs = true;
  int top_logprobs = 5;
  std::chrono::milliseconds timeout{30000};
  // Streaming only: the longest wait between two deltas (0: no limit). Passing it is a
  // failure (kTimeout) like any other.
  std::chrono::milliseconds inter_token_timeout{0};
};

struct TokenLogprob {
  std::string token;
  // log p(token). For constrained decoding in the embedded backend this is the
  // probability renormalised over the tokens the grammar allowed at that step, so
  // forced tokens have logprob 0 and a closed choice's first token carries the mass.
  double logprob = 0.0;
  std::vector<std::pair<std::string, double>> top;  // alternatives, best first
};

struct GenerationResult {
  std::string text;
  std::vector<TokenLogprob> tokens;  // empty when the backend gave no logprobs
  bool has_logprobs = false;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_prompt_tokens = 0;  // prompt tokens served from a reused prefix
  std::string model;             // model id as the backend reports it
  double latency_ms = 0.0;
  int attempts = 1;  // tries including retries
  std::string finish_reason;
};

// Receives each piece of generated text in order; returning false asks the backend to stop
// (the client went away): generation ends with finish_reason "cancelled".
using DeltaFn = std::function<bool(std::string_view delta)>;

// A client's request relayed to the upstream in the upstream's own API (pass-through in
// `ladder serve`): the body as the client sent it, only `model` set to the configured id.
enum class WireApi { kOpenAiChat, kAnthropicMessages };

struct ForwardRequest {
  WireApi api = WireApi::kOpenAiChat;
  nlohmann::json body;  // a JSON object; its "stream" decides the reply's form
  std::chrono::milliseconds timeout{30000};
  // Streaming only: the longest wait between two pieces of the body (0: no limit).
  std::chrono::milliseconds inter_token_timeout{0};
  // Whether the body asks for a streamed reply ("stream": true).
  bool streams() const {
    auto it = body.find("stream");
    return it != body.end() && it->is_boolean() && it->get<bool>();
  }
};

struct ForwardReply {
  // 2xx, or a client error the upstream answered (400, 404, 409, 413, 422) relayed as it
  // came: the client's request was wrong, and the upstream's words say how.
  int status = 200;
  std::string content_type;
  std::string body;        // the whole reply; empty for a streamed 2xx (it went to on_chunk)
  bool streamed = false;   // the body went to on_chunk
  bool cancelled = false;  // on_chunk returned false (the client went away)
  // Read from the reply for the audit record and metrics (0 / empty when it had none).
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int tool_calls = 0;
  std::string model;
  std::string finish_reason;
  double latency_ms = 0.0;
  int attempts = 1;
};

// Receives a streamed reply's bytes in order, whole lines each with its "\n"; returning
// false stops the stream.
using ChunkFn = std::function<bool(std::string_view bytes)>;
using ForwardDoneFn = std::function<void(Result<ForwardReply>)>;
using GenerateDoneFn = std::function<void(Result<GenerationResult>)>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<GenerationResult> generate(const GenerationRequest& request) = 0;
  // Streams the answer through on_delta and returns the whole result at the end. Failure
  // classes, which callers tell apart by whether on_delta was called before the error:
  // before the first delta the caller may fall back to another model; after it the
  // caller must end its own stream with an error. The default implementation generates
  // the whole answer and delivers it as one delta.
  virtual Result<GenerationResult> generate_stream(const GenerationRequest& request, const DeltaFn& on_delta) {
    auto result = generate(request);
    if (!result.ok()) return result;
    if (!result->text.empty() && !on_delta(result->text)) result->finish_reason = "cancelled";
    return result;
  }
  // Whether forward() relays requests of `api` (an upstream that speaks it).
  virtual bool forwards(WireApi api) const { return false; }
  // Relays `request` unchanged but for its model. A streamed 2xx body goes to on_chunk
  // line by line; a failure before the first chunk may be retried or fallen back from,
  // after it the caller ends its own stream. A stream that ends without its API's
  // terminator is kConnectionReset.
  virtual Result<ForwardReply> forward(const ForwardRequest& request, const ChunkFn& on_chunk) {
    return make_error(ErrorCode::kNotImplemented, kind() + " backends do not relay requests");
  }
  // Whether forward_async() relays requests of `api` on an event loop (network backends).
  virtual bool forwards_async(WireApi api) const { return false; }
  // forward() on `client`'s event loop (`ladder serve` relays on its I/O threads): returns
  // false, doing nothing, when !forwards_async(request.api); else true, and `done` runs
  // on the loop once the exchange ended. `on_chunk` runs on the loop and must not block.
  // The backend must outlive the exchange.
  virtual bool forward_async(const ForwardRequest& request, const http::Client& client, ChunkFn on_chunk,
                             ForwardDoneFn done) {
    return false;
  }
  // Whether generate_async() runs on an event loop (network backends).
  virtual bool generates_async() const { return false; }
  // generate() (no on_delta) or generate_stream() on `client`'s event loop (`ladder serve`
  // escalates on its I/O threads): returns false, doing nothing, when !generates_async();
  // else true, and `done` runs on the loop once the call ended, retries included (their
  // waits are timers). `on_delta` runs on the loop and must not block. The backend must
  // outlive the call.
  virtual bool generate_async(const GenerationRequest& request, const http::Client& client, DeltaFn on_delta,
                              GenerateDoneFn done) {
    return false;
  }
  // Cheap liveness check (model loaded, server answering).
  virtual Status health() = 0;
  virtual std::string kind() const = 0;  // "embedded", "openai", "ollama", "anthropic"
  // True when a raw `prompt` is continued exactly as given, so a prompt may end inside the
  // answer (a closed choice's fixed JSON prefix); chat servers apply templates and may not.
  virtual bool continues_raw_prompt() const { return false; }
  // How many calls at once this backend serves without queueing them behind each other:
  // 1 for one in-process context; network servers batch or queue on their side.
  virtual int parallel_calls() const { return 8; }
  virtual std::string model() const = 0;  // configured model id or file name
};

}  // namespace ladder
