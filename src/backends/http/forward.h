// Relaying a client's request to an upstream in the upstream's own API (Backend::forward):
// the body goes out as the client sent it with only `model` set, and the reply comes
// back as it was sent: a whole JSON body, or a streamed body line by line (each line with
// its "\n", blank separator lines included). What ladder reads from the reply (usage,
// model, finish reason, tool calls) it reads without changing a byte.
//
// Failures: a transport failure or a non-2xx maps through the error table like any
// other call (the API key redacted, Retry-After kept), except the client errors 400,
// 404, 409, 413 and 422 with a JSON body, which are relayed (ForwardReply::status): the
// request was wrong, and the upstream's words say how. A 2xx that is not JSON (plain) is
// kBadResponse; a stream that ends without its terminator is kConnectionReset. Retries
// follow the endpoint's policy until the first line went to the client, never after.
#pragma once

#include <functional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "backends/http/event_stream.h"
#include "backends/http/http_client.h"
#include "backends/http/json_endpoint.h"
#include "ladder/backend.h"

namespace ladder::http {

struct ForwardWire {
  std::string_view path;  // e.g. "/v1/chat/completions"
  Headers headers;        // authentication and API version headers
  // Reads usage, model, finish reason and tool calls from a whole reply or from the JSON
  // of one streamed event (`streamed` true), adding to what `reply` already holds.
  std::function<void(const nlohmann::json& object, bool streamed, ForwardReply& reply)> read;
  // Whether `line`, once handed on, ended a complete stream ("data: [DONE]", "event:
  // message_stop"; asked after the line went to on_chunk).
  std::function<bool(std::string_view line)> is_terminator;
};

// Whether a non-2xx upstream status is relayed to the client as it came.
bool relays_client_error(int status);

// A failed `wire` (a missing API key) is the result as it is.
Result<ForwardReply> forward_exchange(const JsonEndpoint& endpoint, const Client& client, const ForwardRequest& request,
                                      const Result<ForwardWire>& wire, const ChunkFn& on_chunk);

// The same exchange on `client`'s event loop: returns at once, and `done` runs on the
// loop when the exchange ended (retries waited out on timers), also when `wire` is a
// failure (a missing API key). `on_chunk` runs on the loop and must not block.
// `endpoint` must outlive the exchange.
void forward_exchange_async(const JsonEndpoint& endpoint, const Client& client, const ForwardRequest& request,
                            Result<ForwardWire> wire, ChunkFn on_chunk, ForwardDoneFn done);

// A backend's generation request before it goes out (generate(), generate_stream() and
// generate_async() alike): the chat API, or the backend's API for a raw prompt
// (request.prompt and no messages). The backend fills `body`.
struct GenerateCall {
  bool raw = false;
  std::string_view path;
  nlohmann::json body;
  Headers headers;
};

// The call's first steps: raw or chat (kInvalidArgument for a request with neither), its
// path, and `headers` (their failure, a missing API key, as it is).
Result<GenerateCall> generate_call(const JsonEndpoint& endpoint, const GenerationRequest& request,
                                   Result<Headers> headers, std::string_view chat_path, std::string_view raw_path);

// A generation request (Backend::generate_async) on the wire: the backend's own body
// ("stream": true for a streamed answer) and its reading of the answer, the same steps
// its blocking generate() and generate_stream() take.
struct GenerateWire {
  std::string_view path;
  Headers headers;
  nlohmann::json body;
  // The line that ends a complete Server-Sent Events stream; with on_line, the words for
  // what a complete stream ends with (its error message).
  std::string_view terminator;
  // A whole 2xx reply into the result (nlohmann errors become kBadResponse).
  std::function<Result<GenerationResult>(const nlohmann::json& reply)> parse;
  // One event of a streamed answer folded into `state`, its text through `on_delta`
  // (StreamState::emit); false ends the stream.
  std::function<bool(const SseEvent& event, StreamState& state, const DeltaFn& on_delta, bool& delivered)> on_event;
  // Instead of on_event, for a stream that is no event stream (Ollama's NDJSON): each
  // line as it came (without its line end), the same contract; the stream is complete
  // once a line set state.finished.
  std::function<bool(std::string_view line, StreamState& state, const DeltaFn& on_delta, bool& delivered)> on_line = {};
};

// Backend::generate_async over forward_exchange_async: the same transport, retry loop and
// timers as a relay. Every non-2xx (client errors too) maps through the error table, and
// a stream reads like generate_stream()'s (finish_stream). `done` runs on the loop once.
void generate_exchange_async(const JsonEndpoint& endpoint, const Client& client, const GenerationRequest& request,
                             Result<GenerateWire> wire, DeltaFn on_delta, GenerateDoneFn done);

// A JSON value's integer, 0 when absent or of another type (usage fields).
int json_int(const nlohmann::json& object, std::string_view key);

}  // namespace ladder::http
