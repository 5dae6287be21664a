#include "backends/http/forward.h"

#include <algorithm>
#include <chrono>

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

int json_int(const json& object, std::string_view key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return 0;
  const auto v = it->get<long long>();
  return v < 0 || v > 1'000'000'000 ? 0 : static_cast<int>(v);
}

Result<ForwardReply> forward_exchange(const JsonEndpoint& endpoint, const Client& client, const ForwardRequest& request,
                                      const ForwardWire& wire, const ChunkFn& on_chunk) {
  if (!request.body.is_object()) return endpoint.error(ErrorCode::kInvalidArgument, "a relayed body must be an object");
  json body = request.body;
  if (!endpoint.model().model.empty()) body["model"] = endpoint.model().model;
  const bool stream = body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>();

  Request req;
  req.method = "POST";
  req.url = endpoint.url(wire.path);
  req.headers = wire.headers;
  req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  req.connect_timeout = milliseconds(std::max(1, endpoint.model().connect_timeout_ms));
  req.idle_timeout = std::max(request.inter_token_timeout, milliseconds(0));

  bool delivered = false;  // a line went to the client: no retry from here on
  return stream_with_retries(endpoint, request.timeout, delivered, [&](milliseconds timeout) -> Result<ForwardReply> {
    req.total_timeout = std::max(timeout, milliseconds(1));
    ForwardReply out;
    if (!stream) {
      auto response = client.send(req);
      if (!response.ok()) return endpoint.prefixed(response.status());
      if (response->status < 200 || response->status > 299) return non_2xx(endpoint, req.url, *response);
      auto parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_object()) {
        return endpoint.error(ErrorCode::kBadResponse,
                              req.url + " answered HTTP " + std::to_string(response->status) +
                                  " with a body that is not a JSON object: " + upstream_error_text(response->body));
      }
      wire.read(parsed, /*streamed=*/false, out);
      out.status = response->status;
      out.content_type = content_type_of(*response, "application/json");
      out.body = std::move(response->body);
      return out;
    }
    out.streamed = true;
    LineSplitter lines;
    bool finished = false;
    std::string piece;
    auto on_line = [&](std::string_view line) {
      if (wire.is_terminator(line)) finished = true;
      if (std::string_view data = sse_data(line); !data.empty() && data.front() == '{') {
        auto event = json::parse(data, nullptr, /*allow_exceptions=*/false);
        if (event.is_object()) wire.read(event, /*streamed=*/true, out);
      }
      piece.assign(line);
      piece += '\n';
      delivered = true;
      if (!on_chunk(piece)) {
        out.cancelled = true;
        return false;
      }
      return true;
    };
    auto response = client.send_stream(req, [&](std::string_view chunk) { return lines.feed(chunk, on_line); });
    if (!response.ok()) return endpoint.prefixed(response.status());
    if (response->status < 200 || response->status > 299) return non_2xx(endpoint, req.url, *response);
    out.status = response->status;
    out.content_type = content_type_of(*response, "text/event-stream");
    if (out.cancelled) return out;
    lines.finish(on_line);
    if (!finished && !out.cancelled) {
      return endpoint.error(ErrorCode::kConnectionReset, req.url + ": the stream ended before its terminator");
    }
    return out;
  });
}

}  // namespace ladder::http
