// The HTTP layer of `ladder serve`: Boost.Beast over Asio with C++20 coroutines.
// Asio threads only do I/O; model calls run on a bounded WorkerPool (full: 429 with
// Retry-After). Keep-alive, a request body limit (413), an idle timeout (reading a
// request), a write timeout (a client that stops reading is disconnected), caps on open
// connections overall (503) and per client address (429), an optional token on
// /metrics; an exception in a handler or a model call is a 500 through the error funnel.
// SIGTERM/SIGINT shut down gracefully (stop accepting, finish the requests in flight),
// SIGHUP reloads the policy. Transport is http_server.cpp; the endpoints are chat_endpoints.cpp and
// admin_endpoints.cpp, sharing http_io.h and worker_bridge.h;
// Beast stays out of this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ladder/status.h"
#include "server/auth.h"
#include "server/gateway.h"

namespace ladder::http {
class Client;
}

namespace ladder::server {

// POST /v1/run: a natural-language request → a macro. Wired by the macro runtime; when
// unset the endpoint answers 501 not_implemented.
using RunHandler = std::function<Result<nlohmann::json>(const nlohmann::json& body, const ClientIdentity& client)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: a free port
  int io_threads = 1;
  int workers = 8;     // threads for blocking model calls
  int max_queue = 64;  // model requests waiting beyond the busy workers; more get 429
  std::size_t max_body_bytes = 1024 * 1024;
  std::string admin_token;    // empty: the admin API answers 403
  std::string metrics_token;  // empty: GET /metrics is open
  KeyRing keys;               // empty: no client authentication
  // The longest wait for a whole request, or for the next one on a kept-alive
  // connection; then the connection is closed. 0: none.
  std::chrono::milliseconds idle_timeout{60000};
  // The longest time one write may take (a whole reply, or one chunk of a stream); a
  // client that does not read its reply is disconnected then. 0: none.
  std::chrono::milliseconds write_timeout{30000};
  std::size_t max_connections = 512;             // open client connections; more: 503. 0: no cap
  std::size_t max_connections_per_client = 128;  // per client IP address; more: 429. 0: no cap
  int send_buffer_bytes = 0;                     // SO_SNDBUF of each connection; 0: the kernel's
  std::chrono::milliseconds drain_timeout{15000};
  std::chrono::milliseconds inter_token_timeout{0};  // streamed requests; 0: none
  int retry_after_s = 1;
  RunHandler run_handler;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, Gateway& gateway);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port; the port actually bound (kUnavailable when it cannot bind).
  Result<int> listen();
  // Serves until SIGTERM/SIGINT or request_stop(); then drains and returns.
  void run();
  // Graceful stop from any thread.
  void request_stop();
  // The server's one upstream HTTP client, on its I/O loop (relays, network tiers, macro
  // HTTP steps); its blocking calls only from other threads (the workers). Its counters
  // are in /metrics (ladder_upstream_*).
  const ladder::http::Client& upstream() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ladder::server
