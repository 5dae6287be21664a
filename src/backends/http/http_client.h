// The one HTTP/1.1 client for the network backends and macro HTTP steps (Boost.Beast
// underneath, kept out of this header). http and https; methods GET, POST, PUT, PATCH and
// DELETE; a connect timeout and a total request timeout; a cap on the response body.
// send_stream() hands a 2xx body to the caller piece by piece as it arrives, with an
// optional idle timeout between pieces.
//
// All I/O runs on one event loop: by default one owned by the client (one io_context and
// one thread for the client's lifetime); or the caller's own loop (Client(loop, ...):
// `ladder serve` runs its upstream calls on its I/O threads, next to the connections
// they serve). No io_context, resolver or connection per call. Connections are
// kept alive and pooled per scheme://host:port (at most ClientOptions::max_idle_per_host
// idle ones; an idle connection is closed after ClientOptions::idle_expiry); name
// resolutions are cached for ClientOptions::dns_ttl. A request that fails on a reused
// connection before any byte of the response arrived (the server had closed it while it
// sat idle) is sent once more on a fresh connection. Callers block on the loop from their
// own thread; streamed pieces are handed to the callback on the caller's thread, and the
// next read starts only once the callback returned (the loop never runs caller code).
//
// Transport failures come back as Status values with codes from the one error table:
//   DNS failure, connection refused, unreachable, TLS handshake failure -> kUnavailable
//   connect or request deadline passed, stream idle timeout passed      -> kTimeout
//   connection reset, body shorter than Content-Length, closed early    -> kConnectionReset
//   response body over the cap, unparseable HTTP                        -> kBadResponse
// HTTP error statuses (4xx, 5xx) are NOT failures here: the caller maps them
// (see http_errors.h) because only it knows the upstream's error shape.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ladder/status.h"

namespace boost::asio {
class io_context;
}

namespace ladder::http {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // always set: explicit, or 80 / 443
  std::string target;  // path and query, at least "/"
  bool tls() const { return scheme == "https"; }
  // scheme://host:port/target, as used in messages (never carries credentials).
  std::string to_string() const;
};

// Accepts http://host[:port][/path][?query] and https://...; rejects userinfo
// (credentials belong in headers, never in a URL that is logged).
Result<Url> parse_url(std::string_view text);

// Joins a configured base URL (http://host:port[/prefix][/]) with an API path
// ("/v1/chat/completions"). When the base already ends with the path's first
// segment ("/v1"), that segment is not doubled.
std::string join_url(std::string_view base, std::string_view path);

using Headers = std::vector<std::pair<std::string, std::string>>;

// Receives a piece of a streamed response body; returning false stops the stream.
using BodyChunkFn = std::function<bool(std::string_view chunk)>;

struct Request {
  std::string method = "GET";  // "GET", "POST", "PUT", "PATCH" or "DELETE"
  std::string url;
  Headers headers;  // Host, User-Agent and Content-Length are added
  // Sent with Content-Type application/json when non-empty (and for POST, PUT, PATCH);
  // a GET request must not carry one (kInternal).
  std::string body;
  std::chrono::milliseconds connect_timeout{2000};  // DNS + TCP connect + TLS handshake
  std::chrono::milliseconds total_timeout{30000};   // whole exchange, connect included
  // send_stream() only: the longest wait for more of a 2xx body once its first bytes
  // arrived (0: no limit besides total_timeout). Passing it is kTimeout.
  std::chrono::milliseconds idle_timeout{0};
  std::size_t max_body_bytes = 8 * 1024 * 1024;  // 0: no cap
};

struct Response {
  int status = 0;
  Headers headers;   // as received
  std::string body;  // send_stream(): empty for a 2xx (the body went to the callback)
  // Case-insensitive header lookup; the first match.
  std::optional<std::string> header(std::string_view name) const;
};

struct ClientOptions {
  std::size_t max_idle_per_host = 16;
  std::chrono::milliseconds idle_expiry{30000};
  std::chrono::milliseconds dns_ttl{60000};
};

// Counters for tests and metrics.
struct ClientStats {
  std::size_t idle = 0;             // idle connections in the pool now
  std::uint64_t opened = 0;         // connections opened so far
  std::uint64_t reused = 0;         // requests sent on a kept-alive connection
  std::uint64_t stale_retries = 0;  // requests re-sent after a reused connection was found closed
};

class Client {
 public:
  Client();
  explicit Client(ClientOptions options);
  // Runs on `loop`, which the caller runs (its threads) and which must outlive the
  // client; the client starts no thread. Blocking calls are refused from the loop's
  // threads (kInternal) and work from any other while the loop runs.
  explicit Client(boost::asio::io_context& loop, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Thread-safe; blocks until the exchange ends. Must not be called from the client's
  // own loop (kInternal).
  Result<Response> send(const Request& request) const;

  // Like send(), but a 2xx body is not collected: each piece is passed to
  // `on_body_chunk` as soon as it arrives (transfer coding removed; pieces split the
  // bytes anywhere, not at line or character boundaries). Returning false from the
  // callback closes the connection at once and send_stream() returns the response
  // (status and headers, empty body) as a success. A non-2xx body is collected into
  // Response::body as by send() and the callback is never called. Failures after some
  // pieces were delivered (cut, timeouts, body cap) are errors as for send().
  Result<Response> send_stream(const Request& request, const BodyChunkFn& on_body_chunk) const;

  // The asynchronous form for callers on an event loop: returns at once; `done` runs on
  // the client's loop thread when the exchange ends (every failure included). It must
  // not block; it may start further send_async() calls. `request` is copied as needed.
  using DoneFn = std::function<void(Result<Response>)>;
  void send_async(const Request& request, DoneFn done) const;

  // send_stream()'s asynchronous form: each piece of a 2xx body goes to `on_chunk` on the
  // loop with a `resume` to call (at once or later, from any thread) once the piece was
  // dealt with: resume(true) reads on, resume(false) closes the connection and ends the
  // exchange as a success. `done` runs on the loop when the exchange ends, as for
  // send_async(). Neither may block.
  using ResumeFn = std::function<void(bool keep_going)>;
  using ChunkSinkFn = std::function<void(std::string_view chunk, ResumeFn resume)>;
  void send_stream_async(const Request& request, ChunkSinkFn on_chunk, DoneFn done) const;

  // Runs `fn` on the client's loop after `delay` (a retry's wait: a timer, no thread).
  void after(std::chrono::milliseconds delay, std::function<void()> fn) const;

  ClientStats stats() const;

 private:
  struct Impl;
  Result<Response> exchange(const Request& request, const BodyChunkFn* on_body_chunk) const;
  // Checks the request; on success fills the parsed URL and the message prefix.
  Status prepare(const Request& request, Url* url, std::string* what) const;
  void start_async(const Request& request, bool streaming, ChunkSinkFn on_chunk, DoneFn done) const;

  std::unique_ptr<Impl> impl_;
};

}  // namespace ladder::http
