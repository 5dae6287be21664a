// Streamed answers for the network backends: a body split into lines (NDJSON), decoded
// as Server-Sent Events (text/event-stream), one streamed exchange mapped through the
// error table, and the retry rule for streams: an attempt may be retried only while no
// delta has reached the caller.
//
// A per-API parser (in each backend folder) turns lines or events into deltas and
// fills a StreamState; finish_stream() turns that state and the transport's outcome
// into the result: a malformed or in-band error event wins, then a transport failure,
// then a stream that ended without its terminator (kConnectionReset); a consumer that
// stopped (on_delta returned false) gives a success with finish_reason "cancelled".
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/http/http_client.h"
#include "backends/http/http_errors.h"
#include "backends/http/json_endpoint.h"
#include "ladder/backend.h"

namespace ladder::http {

// Receives one line of a streamed body; returning false stops reading.
using LineFn = std::function<bool(std::string_view line)>;

// Splits a byte stream into lines ending in "\n" or "\r\n" (the terminator removed).
class LineSplitter {
 public:
  // Calls on_line(std::string_view) for each line completed by `chunk`; stops and
  // returns false as soon as on_line does.
  template <typename F>
  bool feed(std::string_view chunk, F&& on_line) {
    while (!chunk.empty()) {
      const auto newline = chunk.find('\n');
      if (newline == std::string_view::npos) {
        partial_.append(chunk);
        return true;
      }
      std::string_view line;
      if (partial_.empty()) {
        line = chunk.substr(0, newline);
      } else {
        partial_.append(chunk.substr(0, newline));
        line = partial_;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const bool go_on = on_line(line);
      partial_.clear();
      chunk.remove_prefix(newline + 1);
      if (!go_on) return false;
    }
    return true;
  }
  // Bytes after the last newline: an unterminated last line once the body has ended.
  const std::string& rest() const { return partial_; }
  // Once the body has ended: passes rest() to on_line when there is one.
  template <typename F>
  void finish(F&& on_line) {
    if (!partial_.empty()) on_line(std::string_view(partial_));
  }

 private:
  std::string partial_;
};

struct SseEvent {
  std::string event;  // "message" when the event named none
  std::string data;   // data lines joined by "\n"
};

// Server-Sent Events: "event:" and "data:" fields (one optional space after the colon),
// comment lines (":...") and the "id" and "retry" fields ignored; a blank line ends an
// event. Any other line means the body is not an event stream: not_sse() says so.
class SseDecoder {
 public:
  // Feeds one line (without its terminator); returns the event a blank line completes.
  std::optional<SseEvent> line(std::string_view text) {
    not_sse_ = false;
    if (text.empty()) {
      if (!has_data_ && pending_.event.empty()) return std::nullopt;
      SseEvent done = std::move(pending_);
      if (done.event.empty()) done.event = "message";
      pending_ = {};
      has_data_ = false;
      return done;
    }
    if (text.front() == ':') return std::nullopt;
    const auto colon = text.find(':');
    std::string_view field = text.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "event") {
      pending_.event = std::string(value);
    } else if (field == "data") {
      if (has_data_) pending_.data += '\n';
      pending_.data.append(value);
      has_data_ = true;
    } else if (field != "id" && field != "retry") {
      not_sse_ = true;
    }
    return std::nullopt;
  }
  // The last line fed was no SSE field.
  bool not_sse() const { return not_sse_; }

 private:
  SseEvent pending_;
  bool has_data_ = false;
  bool not_sse_ = false;
};

// What one streamed attempt gathers; the per-API parsers fill it.
struct StreamState {
  GenerationResult result;
  bool cancelled = false;  // on_delta returned false
  bool finished = false;   // the stream's terminator arrived
  Status failure;          // a malformed event or an in-band error

  // Appends `text` to the result and passes it on (empty text is not a delta). Returns
  // false when the consumer asked to stop. `delivered` records that a delta went out.
  bool emit(std::string_view text, const DeltaFn& on_delta, bool& delivered) {
    if (text.empty()) return true;
    result.text.append(text);
    delivered = true;
    if (!on_delta(text)) {
      cancelled = true;
      return false;
    }
    return true;
  }
};

// Feeds one line of an event stream to `sse` and passes a completed event to
// on_event(const SseEvent&) -> bool (false ends the stream). A line that is no SSE field
// fails the attempt with kBadResponse.
template <typename F>
bool feed_sse(SseDecoder& sse, std::string_view line, const JsonEndpoint& endpoint, std::string_view path,
              StreamState& state, F&& on_event) {
  auto event = sse.line(line);
  if (sse.not_sse()) {
    state.failure = endpoint.error(
        ErrorCode::kBadResponse, endpoint.url(path) + ": answer is not an event stream: " + upstream_error_text(line));
    return false;
  }
  return !event || on_event(*event);
}

// The endpoint's API key (if any) taken out of a message.
inline std::string redact_endpoint_key(const JsonEndpoint& endpoint, std::string text) {
  auto key = endpoint.api_key();
  if (key.ok() && key.value()) text = redact(std::move(text), *key.value());
  return text;
}

// One streamed exchange, no retries: POSTs `body` to endpoint.url(path) and feeds each
// line of a 2xx body to `on_line` (returning false stops reading; ok is returned). A
// non-2xx answer maps through the error table (its Retry-After kept); transport
// failures are named after the backend. `idle_timeout` bounds the gap between pieces
// of the body once it has begun (0: none).
inline Status stream_lines(const JsonEndpoint& endpoint, const Client& client, std::string_view path,
                           const nlohmann::json& body, const Headers& headers, std::chrono::milliseconds timeout,
                           std::chrono::milliseconds idle_timeout, const LineFn& on_line) {
  Request request;
  request.method = "POST";
  request.url = endpoint.url(path);
  request.headers = headers;
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  request.connect_timeout = std::chrono::milliseconds(std::max(1, endpoint.model().connect_timeout_ms));
  request.total_timeout = std::max(timeout, std::chrono::milliseconds(1));
  request.idle_timeout = std::max(idle_timeout, std::chrono::milliseconds(0));
  LineSplitter lines;
  bool stopped = false;
  auto response = client.send_stream(request, [&](std::string_view chunk) {
    if (!lines.feed(chunk, on_line)) stopped = true;
    return !stopped;
  });
  if (!response.ok()) return endpoint.prefixed(response.status());
  Status mapped = status_from_response(endpoint.kind(), request.url, response.value());
  if (!mapped.ok()) return mapped.with_message(redact_endpoint_key(endpoint, mapped.message()));
  if (!stopped) lines.finish(on_line);
  return Status::ok_status();
}

// What stream_lines() does with a 2xx body, over pieces already received (replays).
inline Status replay_lines(const std::vector<std::string>& pieces, const LineFn& on_line) {
  LineSplitter lines;
  for (const auto& piece : pieces) {
    if (!lines.feed(piece, on_line)) return Status::ok_status();
  }
  lines.finish(on_line);
  return Status::ok_status();
}

// A backend's reading of a replayed answer (json_endpoint.h): a plain reply through
// JsonEndpoint::read_reply() and then `parse_reply(json)`, a streamed body through
// `read_stream(transport)` with a transport that replays its pieces.
template <typename ParseReply, typename ReadStream>
Result<GenerationResult> replay_answer(const JsonEndpoint& endpoint, std::string_view path,
                                       const ReplayedAnswer& answer, ParseReply&& parse_reply,
                                       ReadStream&& read_stream) {
  if (answer.stream) return read_stream([&](const LineFn& on_line) { return replay_lines(answer.pieces, on_line); });
  auto reply = endpoint.read_reply(endpoint.url(path), answer.response);
  if (!reply.ok()) return reply.status();
  return parse_reply(reply.value());
}

// The result of one streamed attempt (see the order at the top of this file).
// `terminator` names what a complete stream ends with, for the message.
inline Result<GenerationResult> finish_stream(const JsonEndpoint& endpoint, std::string_view path, StreamState state,
                                              const Status& transport, std::string_view terminator) {
  if (!state.failure.ok()) return state.failure;
  if (!transport.ok()) return transport;
  if (state.result.model.empty()) state.result.model = endpoint.model().model;
  if (state.cancelled) {
    state.result.finish_reason = "cancelled";
    return std::move(state.result);
  }
  if (!state.finished) {
    return endpoint.error(ErrorCode::kConnectionReset,
                          endpoint.url(path) + ": stream ended without " + std::string(terminator));
  }
  return std::move(state.result);
}

// The two decisions of a streamed call's retry loop, shared by stream_with_retries()
// (blocking) and the relay on an event loop (forward_exchange_async): the next attempt's
// timeout, min(request_timeout_ms, time left), or kTimeout once the budget is spent; and
// whether a failed attempt is retried, and after what wait (never once `delivered`).
class StreamRetries {
 public:
  using Clock = std::chrono::steady_clock;
  StreamRetries(const JsonEndpoint& endpoint, std::chrono::milliseconds budget)
      : endpoint_(endpoint),
        budget_(budget),
        start_(Clock::now()),
        deadline_(start_ + std::max(budget, std::chrono::milliseconds(1))) {}

  Result<std::chrono::milliseconds> next_timeout() {
    using std::chrono::milliseconds;
    ++tries_;
    auto left = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) {
      return endpoint_.error(ErrorCode::kTimeout, endpoint_.model().base_url + ": request budget of " +
                                                      std::to_string(budget_.count()) + " ms spent");
    }
    return std::min(left, milliseconds(std::max(1, endpoint_.model().request_timeout_ms)));
  }
  // Sets attempts and latency_ms of a successful attempt's result.
  template <typename R>
  void succeeded(R& result) const {
    result.attempts = tries_;
    result.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
  }
  std::optional<std::chrono::milliseconds> retry_delay(const Status& failure, bool delivered) const {
    if (delivered) return std::nullopt;
    const auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()),
                               std::chrono::milliseconds(0));
    return endpoint_.retry().next_delay(tries_, failure, left);
  }

 private:
  const JsonEndpoint& endpoint_;
  std::chrono::milliseconds budget_;
  Clock::time_point start_;
  Clock::time_point deadline_;
  int tries_ = 0;
};

// Runs `attempt(timeout)` like JsonEndpoint::generate_with_retries (overall
// budget, per-attempt timeout min(request_timeout_ms, time left), retry policy), except
// that a failure is never retried once `delivered` is true: the caller already holds
// part of the answer.
// `attempt(timeout)` returns a Result of GenerationResult or ForwardReply (both carry
// attempts and latency_ms).
template <typename Attempt>
auto stream_with_retries(const JsonEndpoint& endpoint, std::chrono::milliseconds budget, const bool& delivered,
                         Attempt&& attempt) -> std::invoke_result_t<Attempt&, std::chrono::milliseconds> {
  StreamRetries retries(endpoint, budget);
  for (;;) {
    auto timeout = retries.next_timeout();
    if (!timeout.ok()) return timeout.status();
    auto result = attempt(*timeout);
    if (result.ok()) {
      retries.succeeded(*result);
      return result;
    }
    auto delay = retries.retry_delay(result.status(), delivered);
    if (!delay) return result;
    endpoint.retry().sleep(*delay);
  }
}

}  // namespace ladder::http
