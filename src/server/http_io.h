// What the server's HTTP translation units share: the Beast/Asio aliases, a reply
// value, the one error funnel to the wire, and writes of whole replies and of chunks.
// Only the server's own .cpp files include this header (Beast stays out of the public
// headers).
#pragma once

#include <utility>  // before asio with Boost 1.74 on g++ 12

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
template <typename T>
using Task = asio::awaitable<T>;

inline constexpr auto kUse = asio::use_awaitable;

std::int64_t unix_now();
double seconds_since(Clock::time_point t);
inline std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }
std::string dump(const nlohmann::json& j);

// A fixed label per route keeps the metric's cardinality bounded.
std::string endpoint_label(std::string_view path);

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply json_reply(int status, const nlohmann::json& body);
struct ApiError;
// An error rendered by make_api_error (or another shape's builder) as a reply, with its
// Retry-After header.
Reply api_error_reply(const ApiError& error);
Reply error_reply(const Status& status, std::string_view param = {}, std::optional<int> retry_after = std::nullopt);
Reply no_route(const Request& req, const std::string& path);
// What the client hears when ladder itself failed (an exception in a handler or a worker
// job): kInternal, without the exception's text (that goes to the log).
Status internal_failure();

// One client connection: its stream, the write timeout, and what the writes tell the
// transport (whether a byte of the current response went out, whether a write ran past
// the timeout and the stream was closed for it).
struct Connection {
  Connection(tcp::socket socket, std::chrono::milliseconds write_timeout)
      : stream(std::move(socket)), write_timeout(write_timeout) {}
  beast::tcp_stream stream;
  std::chrono::milliseconds write_timeout;  // one whole reply, or one chunk; 0: none
  bool response_started = false;            // set by every write; the transport resets it per request
  bool write_timed_out = false;
};

// Each write below runs under the connection's write timeout: a client that stops
// reading is disconnected once it passes (the write fails, write_timed_out is set).
// Writes a whole reply; true when the connection stays open (keep-alive asked for, not
// `closing`, no write error).
Task<bool> send(Connection& conn, const Request& req, Reply reply, bool closing);
// Sets up the head of a server-sent event stream (200, text/event-stream, no-cache,
// chunked) with `headers` added.
void event_stream_head(http::response<http::empty_body>& head,
                       const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive);
// The header of a chunked response; false on a write error.
Task<bool> write_header(Connection& conn, http::response_serializer<http::empty_body>& serializer);
// One chunk of a chunked body, and the last chunk; false on a write error.
Task<bool> write_chunk(Connection& conn, std::string data);
Task<bool> end_chunks(Connection& conn);
// After refusing a request whose body is still arriving: stop sending, read and drop
// what comes for a moment, so that the client reads the answer instead of a reset.
Task<void> linger_close(beast::tcp_stream& stream);

}  // namespace ladder::server
