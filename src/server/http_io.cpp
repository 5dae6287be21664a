#include "server/http_io.h"

#include "server/errors.h"

namespace ladder::server {

using nlohmann::json;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string endpoint_label(std::string_view path) {
  for (std::string_view known : {"/v1/chat/completions", "/v1/messages", "/v1/route", "/v1/run", "/v1/models",
                                 "/healthz", "/readyz", "/metrics"})
    if (path == known) return std::string(known);
  if (path.substr(0, 7) == "/admin/") return "/admin";
  if (path == "/ui" || path.substr(0, 4) == "/ui/") return "/ui";
  return "other";
}

Reply json_reply(int status, const json& body) { return {status, dump(body), "application/json", {}}; }

Reply api_error_reply(const ApiError& e) {
  Reply r = json_reply(e.http_status, e.body);
  if (e.retry_after_s) r.headers.emplace_back("Retry-After", std::to_string(*e.retry_after_s));
  return r;
}

Reply error_reply(const Status& status, std::string_view param, std::optional<int> retry_after) {
  return api_error_reply(make_api_error(status, param, retry_after));
}

void event_stream_head(http::response<http::empty_body>& head,
                       const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive) {
  head.set(http::field::server, "ladder");
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  for (const auto& [k, v] : headers) head.set(k, v);
  head.chunked(true);
  head.keep_alive(keep_alive);
}

Reply no_route(const Request& req, const std::string& path) {
  return error_reply(make_error(ErrorCode::kNotFound, "no route " + std::string(req.method_string()) + " " + path));
}

namespace {

// Every write to a client: under the connection's write timeout, then recorded.
void begin_write(Connection& conn) {
  conn.response_started = true;
  if (conn.write_timeout.count() > 0) conn.stream.expires_after(conn.write_timeout);
}

bool end_write(Connection& conn, const beast::error_code& ec) {
  conn.stream.expires_never();
  if (ec == beast::error::timeout) conn.write_timed_out = true;
  return !ec;
}

}  // namespace

Status internal_failure() {
  return make_error(ErrorCode::kInternal, "ladder failed while serving this request (the server log has the cause)");
}

Task<bool> send(Connection& conn, const Request& req, Reply reply, bool closing) {
  http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
  res.set(http::field::server, "ladder");
  res.set(http::field::content_type, reply.content_type);
  for (const auto& [k, v] : reply.headers) res.set(k, v);
  const bool keep = req.keep_alive() && !closing;
  res.keep_alive(keep);
  res.body() = std::move(reply.body);
  res.prepare_payload();
  beast::error_code ec;
  begin_write(conn);
  co_await http::async_write(conn.stream, res, asio::redirect_error(kUse, ec));
  co_return end_write(conn, ec) && keep;
}

Task<bool> write_header(Connection& conn, http::response_serializer<http::empty_body>& serializer) {
  beast::error_code ec;
  begin_write(conn);
  co_await http::async_write_header(conn.stream, serializer, asio::redirect_error(kUse, ec));
  co_return end_write(conn, ec);
}

Task<bool> write_chunk(Connection& conn, std::string data) {
  beast::error_code ec;
  begin_write(conn);
  co_await asio::async_write(conn.stream, http::make_chunk(asio::buffer(data)), asio::redirect_error(kUse, ec));
  co_return end_write(conn, ec);
}

Task<bool> end_chunks(Connection& conn) {
  beast::error_code ec;
  begin_write(conn);
  co_await asio::async_write(conn.stream, http::make_chunk_last(), asio::redirect_error(kUse, ec));
  co_return end_write(conn, ec);
}

Task<void> linger_close(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::milliseconds(500));
  std::vector<char> sink(64 * 1024);
  for (std::size_t total = 0; total < 64 * 1024 * 1024;) {
    std::size_t n = co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(kUse, ec));
    if (ec) break;
    total += n;
  }
  stream.socket().close(ec);
}

}  // namespace ladder::server
