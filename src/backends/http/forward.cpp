#include "backends/http/forward.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include "backends/http/event_stream.h"
#include "backends/http/http_errors.h"

namespace ladder::http {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string_view sse_data(std::string_view line) {
  if (line.rfind("data:", 0) != 0) return {};
  line.remove_prefix(5);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  return line;
}

std::string content_type_of(const Response& response, std::string_view fallback) {
  auto type = response.header("content-type");
  return type ? *type : std::string(fallback);
}

// A non-2xx answer: relayed when it is a client error with a JSON body, else the error
// table's Status.
Result<ForwardReply> non_2xx(const JsonEndpoint& endpoint, const std::string& url, const Response& response) {
  if (relays_client_error(response.status)) {
    auto parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) {
      ForwardReply out;
      out.status = response.status;
      out.content_type = content_type_of(response, "application/json");
      out.body = response.body;
      return out;
    }
  }
  auto mapped = endpoint.read_reply(url, response);
  if (!mapped.ok()) return mapped.status();
  return endpoint.error(ErrorCode::kBadResponse, url + " answered HTTP " + std::to_string(response.status));
}

}  // namespace

bool relays_client_error(int status) {
  return status == 400 || status == 404 || status == 409 || status == 413 || status == 422;
}

Result<GenerateCall> generate_call(const JsonEndpoint& endpoint, const GenerationRequest& request,
                                   Result<Headers> headers, std::string_view chat_path, std::string_view raw_path) {
  GenerateCall call;
  call.raw = request.messages.empty() && request.prompt.has_value();
  if (request.messages.empty() && !call.raw) {
    return endpoint.error(ErrorCode::kInvalidArgument, "request has neither messages nor a prompt");
  }
  if (!headers.ok()) return headers.status();
  call.headers = std::move(headers).value();
  call.path = call.raw ? raw_path : chat_path;
  return call;
}

int json_int(const json& object, std::string_view key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return 0;
  const auto v = it->get<long long>();
  return v < 0 || v > 1'000'000'000 ? 0 : static_cast<int>(v);
}

namespace {

// A relayed request on the wire: the client's body with `model` set.
struct Outgoing {
  Request request;
  bool stream = false;
};

Result<Outgoing> outgoing(const JsonEndpoint& endpoint, const ForwardRequest& request, const ForwardWire& wire) {
  if (!request.body.is_object()) return endpoint.error(ErrorCode::kInvalidArgument, "a relayed body must be an object");
  json body = request.body;
  if (!endpoint.model().model.empty()) body["model"] = endpoint.model().model;
  Outgoing out;
  out.stream = request.streams();
  Request& req = out.request;
  req.method = "POST";
  req.url = endpoint.url(wire.path);
  req.headers = wire.headers;
  req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  req.connect_timeout = milliseconds(std::max(1, endpoint.model().connect_timeout_ms));
  req.idle_timeout = std::max(request.inter_token_timeout, milliseconds(0));
  return out;
}

// One attempt's reading of the upstream's answer, blocking or on the loop alike: a whole
// reply, or a stream's lines relayed to `on_chunk` as they complete.
class AttemptReader {
 public:
  AttemptReader(const JsonEndpoint& endpoint, const ForwardWire& wire, const std::string& url, const ChunkFn& on_chunk,
                bool& delivered)
      : endpoint_(endpoint), wire_(wire), url_(url), on_chunk_(on_chunk), delivered_(delivered) {
    out_.streamed = true;
  }

  // A piece of a streamed 2xx body; false once the client stopped taking lines.
  bool feed(std::string_view chunk) {
    return lines_.feed(chunk, [this](std::string_view line) { return on_line(line); });
  }

  Result<ForwardReply> whole(Result<Response> response) const {
    if (!response.ok()) return endpoint_.prefixed(response.status());
    if (response->status < 200 || response->status > 299) return non_2xx(endpoint_, url_, *response);
    auto parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) {
      return endpoint_.error(ErrorCode::kBadResponse,
                             url_ + " answered HTTP " + std::to_string(response->status) +
                                 " with a body that is not a JSON object: " + upstream_error_text(response->body));
    }
    ForwardReply out;
    wire_.read(parsed, /*streamed=*/false, out);
    out.status = response->status;
    out.content_type = content_type_of(*response, "application/json");
    out.body = std::move(response->body);
    return out;
  }

  Result<ForwardReply> streamed(Result<Response> response) {
    if (!response.ok()) return endpoint_.prefixed(response.status());
    if (response->status < 200 || response->status > 299) return non_2xx(endpoint_, url_, *response);
    out_.status = response->status;
    out_.content_type = content_type_of(*response, "text/event-stream");
    if (out_.cancelled) return std::move(out_);
    lines_.finish([this](std::string_view line) { return on_line(line); });
    if (!finished_ && !out_.cancelled) {
      return endpoint_.error(ErrorCode::kConnectionReset, url_ + ": the stream ended before its terminator");
    }
    return std::move(out_);
  }

 private:
  bool on_line(std::string_view line) {
    if (std::string_view data = sse_data(line); !data.empty() && data.front() == '{') {
      auto event = json::parse(data, nullptr, /*allow_exceptions=*/false);
      if (event.is_object()) wire_.read(event, /*streamed=*/true, out_);
    }
    piece_.assign(line);
    piece_ += '\n';
    delivered_ = true;
    if (!on_chunk_(piece_)) {
      out_.cancelled = true;
      return false;
    }
    // After on_chunk: a reader of the lines (generate_exchange_async's) may be what
    // decides that this line ended the stream.
    if (wire_.is_terminator(line)) finished_ = true;
    return true;
  }

  const JsonEndpoint& endpoint_;
  const ForwardWire& wire_;
  const std::string& url_;
  const ChunkFn& on_chunk_;
  bool& delivered_;
  ForwardReply out_;
  LineSplitter lines_;
  bool finished_ = false;
  std::string piece_;
};

// forward_exchange_async()'s state: the retry loop driven by the loop's completions.
class AsyncForward : public std::enable_shared_from_this<AsyncForward> {
 public:
  AsyncForward(const JsonEndpoint& endpoint, const Client& client, Outgoing out, ForwardWire wire, ChunkFn on_chunk,
               ForwardDoneFn done, milliseconds budget)
      : endpoint_(endpoint),
        client_(client),
        out_(std::move(out)),
        wire_(std::move(wire)),
        on_chunk_(std::move(on_chunk)),
        done_(std::move(done)),
        retries_(endpoint, budget) {}

  void attempt() {
    auto timeout = retries_.next_timeout();
    if (!timeout.ok()) return done_(timeout.status());
    out_.request.total_timeout = std::max(*timeout, milliseconds(1));
    reader_.emplace(endpoint_, wire_, out_.request.url, on_chunk_, delivered_);
    auto self = shared_from_this();
    if (!out_.stream) {
      return client_.send_async(out_.request,
                                [self](Result<Response> r) { self->settle(self->reader_->whole(std::move(r))); });
    }
    client_.send_stream_async(
        out_.request,
        [self](std::string_view chunk, const Client::ResumeFn& resume) { resume(self->reader_->feed(chunk)); },
        [self](Result<Response> r) { self->settle(self->reader_->streamed(std::move(r))); });
  }

 private:
  void settle(Result<ForwardReply> result) {
    if (result.ok()) {
      retries_.succeeded(*result);
      return done_(std::move(result));
    }
    auto delay = retries_.retry_delay(result.status(), delivered_);
    if (!delay) return done_(std::move(result));
    client_.after(*delay, [self = shared_from_this()] { self->attempt(); });
  }

  const JsonEndpoint& endpoint_;
  const Client& client_;
  Outgoing out_;
  ForwardWire wire_;
  ChunkFn on_chunk_;
  ForwardDoneFn done_;
  StreamRetries retries_;
  bool delivered_ = false;  // a line went to the client: no retry from here on
  std::optional<AttemptReader> reader_;
};

}  // namespace

Result<ForwardReply> forward_exchange(const JsonEndpoint& endpoint, const Client& client, const ForwardRequest& request,
                                      const Result<ForwardWire>& wire, const ChunkFn& on_chunk) {
  if (!wire.ok()) return wire.status();
  auto out = outgoing(endpoint, request, *wire);
  if (!out.ok()) return out.status();
  Request& req = out->request;
  bool delivered = false;  // a line went to the client: no retry from here on
  return stream_with_retries(endpoint, request.timeout, delivered, [&](milliseconds timeout) -> Result<ForwardReply> {
    req.total_timeout = std::max(timeout, milliseconds(1));
    AttemptReader reader(endpoint, *wire, req.url, on_chunk, delivered);
    if (!out->stream) return reader.whole(client.send(req));
    auto response = client.send_stream(req, [&](std::string_view chunk) { return reader.feed(chunk); });
    return reader.streamed(std::move(response));
  });
}

void forward_exchange_async(const JsonEndpoint& endpoint, const Client& client, const ForwardRequest& request,
                            Result<ForwardWire> wire, ChunkFn on_chunk, ForwardDoneFn done) {
  auto out = wire.ok() ? outgoing(endpoint, request, *wire) : Result<Outgoing>(wire.status());
  if (!out.ok()) {
    Status failure = out.status();
    return client.after(milliseconds(0), [done = std::move(done), failure] { done(failure); });
  }
  std::make_shared<AsyncForward>(endpoint, client, std::move(*out), std::move(*wire), std::move(on_chunk),
                                 std::move(done), request.timeout)
      ->attempt();
}

namespace {

// generate_exchange_async()'s state, shared by the chunk reader and the completion.
struct AsyncGeneration {
  AsyncGeneration(const JsonEndpoint& e, GenerateWire w, DeltaFn d)
      : endpoint(e), wire(std::move(w)), on_delta(std::move(d)) {}

  // One line of the streamed body (with its "\n"); false stops the stream. After the
  // terminator the rest of the body is read and ignored, so the connection can be reused.
  bool line(std::string_view bytes) {
    if (state.finished) return true;
    if (!bytes.empty() && bytes.back() == '\n') bytes.remove_suffix(1);
    if (!bytes.empty() && bytes.back() == '\r') bytes.remove_suffix(1);
    const bool go_on = wire.on_line ? wire.on_line(bytes, state, on_delta, delivered)
                                    : feed_sse(sse, bytes, endpoint, wire.path, state, [this](const SseEvent& event) {
                                        return wire.on_event(event, state, on_delta, delivered);
                                      });
    return go_on || (state.finished && state.failure.ok() && !state.cancelled);
  }

  Result<GenerationResult> settle(Result<ForwardReply> reply, bool stream) {
    const std::string url = endpoint.url(wire.path);
    if (reply.ok() && (reply->status < 200 || reply->status > 299)) {
      // A client error the relay would pass on is a failure of this call.
      Response response;
      response.status = reply->status;
      response.body = std::move(reply->body);
      auto mapped = endpoint.read_reply(url, response);
      if (!mapped.ok()) return mapped.status();
      return endpoint.error(ErrorCode::kBadResponse, url + " answered HTTP " + std::to_string(response.status));
    }
    Result<GenerationResult> result = [&]() -> Result<GenerationResult> {
      if (stream) {
        return finish_stream(endpoint, wire.path, std::move(state), reply.ok() ? Status() : reply.status(),
                             wire.terminator);
      }
      if (!reply.ok()) return reply.status();
      auto parsed = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
      return parse_boundary<GenerationResult>(endpoint, wire.path, [&] { return wire.parse(parsed); });
    }();
    if (result.ok() && reply.ok()) {
      result->latency_ms = reply->latency_ms;
      result->attempts = reply->attempts;
    }
    return result;
  }

  const JsonEndpoint& endpoint;
  GenerateWire wire;
  DeltaFn on_delta;
  SseDecoder sse;
  StreamState state;
  bool delivered = false;
};

}  // namespace

void generate_exchange_async(const JsonEndpoint& endpoint, const Client& client, const GenerationRequest& request,
                             Result<GenerateWire> wire, DeltaFn on_delta, GenerateDoneFn done) {
  if (!wire.ok()) {
    Status failure = wire.status();
    return client.after(milliseconds(0), [done = std::move(done), failure] { done(failure); });
  }
  ForwardRequest out;
  out.body = std::move(wire->body);
  out.timeout = request.timeout;
  out.inter_token_timeout = request.inter_token_timeout;
  const bool stream = out.streams();
  auto state = std::make_shared<AsyncGeneration>(endpoint, std::move(*wire), std::move(on_delta));
  std::function<bool(std::string_view)> is_terminator;
  if (state->wire.on_line) {
    // The line reader just said so (StreamState::finished): no line is parsed twice.
    is_terminator = [state](std::string_view) { return state->state.finished; };
  } else {
    is_terminator = [terminator = state->wire.terminator](std::string_view line) { return line == terminator; };
  }
  ForwardWire forward_wire{state->wire.path, state->wire.headers, [](const json&, bool, ForwardReply&) {},
                           std::move(is_terminator)};
  ChunkFn on_chunk;
  if (stream) on_chunk = [state](std::string_view bytes) { return state->line(bytes); };
  forward_exchange_async(endpoint, client, out, std::move(forward_wire), std::move(on_chunk),
                         [state, stream, done = std::move(done)](Result<ForwardReply> reply) {
                           done(state->settle(std::move(reply), stream));
                         });
}

}  // namespace ladder::http
