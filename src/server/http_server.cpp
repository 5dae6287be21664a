// Transport of `ladder serve`: the listener, connections (keep-alive, body limit, idle
// and write timeouts, connection caps), dispatch to the endpoints with the exception
// funnel, graceful drain and the signals (SIGTERM/SIGINT stop, SIGHUP reloads the
// policy).
#include "server/http_server.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "backends/http/http_client.h"
#include "server/endpoints.h"
#include "server/errors.h"
#include "server/openai_api.h"
#include "ui/ui_endpoints.h"

namespace ladder::server {

using nlohmann::json;

struct HttpServer::Impl {
  Impl(ServerOptions o, Gateway& g) : ctx(std::move(o), g) { ctx.upstream = &upstream; }

  ServerContext ctx;
  // Before ioc: sessions still open when ioc is destroyed release their slots then.
  std::mutex conn_mu;  // guards open_total, open_per_client
  std::size_t open_total = 0;
  std::map<asio::ip::address, std::size_t> open_per_client;
  asio::io_context ioc;
  // The upstream calls (relays, network tiers, macro HTTP steps), on ioc (destroyed
  // before it: its pooled connections close).
  ladder::http::Client upstream{ioc};
  std::mutex upstream_metrics_mu;  // one metrics_reply at a time moves the upstream counters
  ui::UiState ui;                  // the web UI's store connection (used from workers)
  tcp::acceptor acceptor{ioc};
  std::atomic<int> active{0};  // requests being handled
  std::mutex reload_mu;        // guards reload_threads
  std::vector<std::thread> reload_threads;

  std::optional<ClientIdentity> client_of(const Request& req) const {
    if (ctx.opt.keys.empty()) return ClientIdentity{"anonymous", {}};
    auto name = ctx.opt.keys.identify(presented_key(sv(req[http::field::authorization]), sv(req["x-api-key"])));
    if (!name) return std::nullopt;
    return ctx.opt.keys.client(*name);
  }

  Reply unauthenticated(const std::string& message, const ErrorFormat& format = kOpenAiErrors) {
    ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "unauthenticated"}});
    return api_error_reply(format.error(make_error(ErrorCode::kUnauthenticated, message), {}, std::nullopt));
  }

  // The error shape of an endpoint: Anthropic's for /v1/messages, else OpenAI's.
  static const ErrorFormat& errors_of(std::string_view path) {
    return path == "/v1/messages" ? kAnthropicErrors : kOpenAiErrors;
  }

  Reply metrics_reply(const Request& req) {
    if (!ctx.opt.metrics_token.empty()) {
      auto presented = presented_key(sv(req[http::field::authorization]), sv(req["x-api-key"]));
      if (presented.empty() || !secrets_equal(presented, ctx.opt.metrics_token))
        return unauthenticated("missing or wrong metrics token (send Authorization: Bearer <token>)");
    }
    ctx.gw.metrics().set("ladder_in_flight_requests", {}, static_cast<double>(ctx.workers.in_flight()));
    upstream_metrics();
    return {200, ctx.gw.metrics().render(), "text/plain; version=0.0.4; charset=utf-8", {}};
  }

  // A request over one of its client's limits (`limit`): counted, audited without waiting
  // for the store, answered 429 with Retry-After.
  Reply over_limit(const ClientIdentity& client, const std::string& path, const std::string& limit, const Status& over,
                   const ErrorFormat& format) {
    ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "client_" + limit}});
    const auto wait_ms = over.retry_after() ? over.retry_after()->count() : 1000;
    const int retry_after_s = static_cast<int>((wait_ms + 999) / 1000);
    const RefusedRequest refused{new_request_id(), path, "rate_limited", limit, retry_after_s, over.message()};
    std::shared_ptr<Router> router = ctx.gw.router();
    router->write_audit_async(make_refused_record(refused, {{"client", client.name}, {"via", "server"}}),
                              [this, keep = router](Status) mutable {
                                // The last reference to the router goes on the loop, not the store's writer.
                                asio::post(ioc, [keep = std::move(keep)] {});
                              });
    return api_error_reply(format.error(over, {}, retry_after_s));
  }

  // The upstream client's counters as of now (its own, monotonic: the counters follow).
  void upstream_metrics() {
    const ladder::http::ClientStats stats = upstream.stats();
    auto& m = ctx.gw.metrics();
    m.set("ladder_upstream_idle_connections", {}, static_cast<double>(stats.idle));
    std::lock_guard lock(upstream_metrics_mu);
    for (const auto& [name, value] : {std::pair{"ladder_upstream_connections_opened_total", stats.opened},
                                      std::pair{"ladder_upstream_requests_reused_total", stats.reused},
                                      std::pair{"ladder_upstream_stale_retries_total", stats.stale_retries}}) {
      const double now = static_cast<double>(value);
      if (const double shown = m.value(name, {}); now > shown) m.add(name, {}, now - shown);
    }
  }

  // ---- dispatch -------------------------------------------------------------------------
  // The reply of `req`, or nullopt when the endpoint wrote its own (chat completions; its
  // status and whether to keep the connection are then in `written`).
  Task<std::optional<Reply>> dispatch(Connection& conn, Request& req, const std::string& path, Clock::time_point t0,
                                      std::pair<int, bool>& written) {
    const auto method = req.method();
    if (path == "/healthz" && method == http::verb::get) co_return json_reply(200, {{"status", "ok"}});
    if (path == "/readyz" && method == http::verb::get) {
      json r = ctx.gw.readiness();
      co_return json_reply(r["ready"].get<bool>() ? 200 : 503, r);
    }
    if (path == "/metrics" && method == http::verb::get) co_return metrics_reply(req);
    if (path.rfind("/admin/", 0) == 0) co_return co_await admin_endpoint(ctx, req, path);
    if (path == "/ui" || path.rfind("/ui/", 0) == 0)
      co_return co_await ui::ui_endpoint(ctx, ui, conn, req, path, written);
    if (path.rfind("/v1/", 0) != 0) co_return no_route(req, path);
    const ErrorFormat& format = errors_of(path);
    auto client = client_of(req);
    if (!client)
      co_return unauthenticated("missing or unknown API key (send Authorization: Bearer <key> or x-api-key: <key>)",
                                format);
    const bool model_call = method == http::verb::post && (path == "/v1/chat/completions" || path == "/v1/messages" ||
                                                           path == "/v1/route" || path == "/v1/run");
    if (model_call) {
      std::string limit;
      if (Status over = ctx.gw.quotas().admit(*client, &limit); !over.ok())
        co_return over_limit(*client, path, limit, over, format);
    }
    if (path == "/v1/chat/completions" && method == http::verb::post) {
      written = co_await chat_completions(ctx, conn, req, *client, t0);
      co_return std::nullopt;
    }
    if (path == "/v1/messages") {
      if (method != http::verb::post)
        co_return api_error_reply(
            format.error(make_error(ErrorCode::kNotFound, "no route " + std::string(req.method_string()) + " " + path),
                         {}, std::nullopt));
      written = co_await messages(ctx, conn, req, *client, t0);
      co_return std::nullopt;
    }
    if (path == "/v1/route" && method == http::verb::post) co_return co_await native_route(ctx, req, *client);
    if (path == "/v1/run" && method == http::verb::post) co_return co_await run_macro(ctx, req, *client);
    if (path == "/v1/models" && method == http::verb::get)
      co_return json_reply(200, models_json(ctx.gw.router()->config()));
    co_return no_route(req, path);
  }

  // One request: dispatched, answered, counted. An exception in a handler is a 500
  // through the error funnel when no byte of the reply went out yet, else the
  // connection is closed; either way the server goes on.
  Task<bool> handle(Connection& conn, Request& req) {
    const auto t0 = Clock::now();
    std::string path(req.target());
    if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
    const std::string endpoint = endpoint_label(path);
    auto finish = [&](int status) {
      auto& m = ctx.gw.metrics();
      m.add("ladder_http_requests_total", {{"endpoint", endpoint}, {"status", std::to_string(status)}});
      m.observe("ladder_http_request_duration_seconds", {{"endpoint", endpoint}}, seconds_since(t0));
    };

    std::optional<Reply> reply;
    std::pair<int, bool> written{0, false};
    std::optional<std::string> crashed;
    try {
      reply = co_await dispatch(conn, req, path, t0, written);
    } catch (const std::exception& e) {
      crashed = e.what();
    } catch (...) {
      crashed = "an exception that is not a std::exception";
    }
    if (crashed) {
      spdlog::error("request {} {} failed: {}", std::string(req.method_string()), path, *crashed);
      finish(500);
      if (!conn.response_started) co_await send(conn, req, error_reply(internal_failure()), true);
      co_return false;
    }
    if (!reply) {
      finish(written.first);
      co_return written.second;
    }
    const int code = reply->status;
    const bool keep = co_await send(conn, req, std::move(*reply), ctx.closing());
    finish(code);
    co_return keep;
  }

  // ---- connections ----------------------------------------------------------------------
  // A slot for a new connection from `client`, or why there is none.
  Status admit(const asio::ip::address& client) {
    std::lock_guard lock(conn_mu);
    const auto& o = ctx.opt;
    if (o.max_connections > 0 && open_total >= o.max_connections) {
      ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "connection_limit"}});
      return make_error(ErrorCode::kUnavailable, "ladder has its limit of " + std::to_string(o.max_connections) +
                                                     " open connections (--max-connections); retry later");
    }
    auto it = open_per_client.find(client);
    if (o.max_connections_per_client > 0 && it != open_per_client.end() && it->second >= o.max_connections_per_client) {
      ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "client_connection_limit"}});
      return make_error(ErrorCode::kRateLimited,
                        "this client address has its limit of " + std::to_string(o.max_connections_per_client) +
                            " open connections (--max-connections-per-client); close idle ones or retry later");
    }
    ++open_per_client[client];
    ++open_total;
    ctx.gw.metrics().set("ladder_open_connections", {}, static_cast<double>(open_total));
    return {};
  }

  void release(const asio::ip::address& client) {
    std::lock_guard lock(conn_mu);
    auto it = open_per_client.find(client);
    if (it != open_per_client.end() && --it->second == 0) open_per_client.erase(it);
    --open_total;
    ctx.gw.metrics().set("ladder_open_connections", {}, static_cast<double>(open_total));
  }

  // Holds a connection's slot for the life of its session.
  struct Slot {
    Impl& impl;
    asio::ip::address client;
    ~Slot() { impl.release(client); }
  };

  // A connection over a limit: the refusal, then close (its request is read and dropped).
  Task<void> refuse(tcp::socket socket, Status why) {
    Connection conn(std::move(socket),
                    ctx.opt.write_timeout.count() > 0 ? ctx.opt.write_timeout : std::chrono::milliseconds(5000));
    Request req;
    req.version(11);
    req.keep_alive(false);
    co_await send(conn, req, error_reply(why, {}, ctx.opt.retry_after_s), true);
    co_await linger_close(conn.stream);
  }

  // Answers a request that could not be read (body too large, malformed) and closes;
  // `path` (when its head was read) picks the error shape.
  Task<void> refuse_request(Connection& conn, Status why, std::string_view path = {}) {
    Request req;
    req.version(11);
    req.keep_alive(false);
    co_await send(conn, req, api_error_reply(errors_of(path.substr(0, path.find('?'))).error(why, {}, std::nullopt)),
                  true);
    co_await linger_close(conn.stream);
  }

  Task<void> session(tcp::socket socket, asio::ip::address client) {
    Slot slot{*this, client};
    Connection conn(std::move(socket), ctx.opt.write_timeout);
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(ctx.opt.max_body_bytes);
      parser.header_limit(32 * 1024);
      if (ctx.opt.idle_timeout.count() > 0) conn.stream.expires_after(ctx.opt.idle_timeout);
      beast::error_code ec;
      co_await http::async_read(conn.stream, buffer, parser, asio::redirect_error(kUse, ec));
      conn.stream.expires_never();
      if (ec == http::error::body_limit) {
        ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "body_too_large"}});
        co_await refuse_request(conn,
                                make_error(ErrorCode::kPayloadTooLarge, "request body is larger than " +
                                                                            std::to_string(ctx.opt.max_body_bytes) +
                                                                            " bytes (--max-body-bytes)"),
                                sv(parser.get().target()));
        co_return;
      }
      if (ec && ec.category() == http::make_error_code(http::error::bad_method).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        co_await refuse_request(conn, make_error(ErrorCode::kParseError, "malformed HTTP request: " + ec.message()));
        co_return;
      }
      if (ec == beast::error::timeout) ctx.gw.metrics().add("ladder_connection_timeouts_total", {{"kind", "idle"}});
      if (ec) break;
      Request req = parser.release();
      conn.response_started = false;
      ++active;
      const bool keep = co_await handle(conn, req);
      --active;
      if (!keep || ctx.stopping.load()) break;
    }
    if (conn.write_timed_out) {
      ctx.gw.metrics().add("ladder_connection_timeouts_total", {{"kind", "write"}});
      spdlog::warn("closed a connection from {}: its client did not read the reply within the write timeout",
                   client.to_string());
    }
    beast::error_code ec;
    conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  Task<void> accept_loop() {
    asio::steady_timer backoff(ioc);
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(ioc), asio::redirect_error(kUse, ec));
      if (ec) {
        if (ctx.stopping.load() || ec == asio::error::operation_aborted) co_return;
        // e.g. EMFILE: keep accepting, after a pause so that the loop does not spin.
        spdlog::warn("accept failed: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(asio::redirect_error(kUse, ec));
        continue;
      }
      const auto peer = socket.remote_endpoint(ec);
      if (ec) continue;  // the client is gone already
      socket.set_option(tcp::no_delay(true), ec);
      if (ctx.opt.send_buffer_bytes > 0)
        socket.set_option(asio::socket_base::send_buffer_size(ctx.opt.send_buffer_bytes), ec);
      auto ex = socket.get_executor();
      Status admitted = admit(peer.address());
      if (!admitted.ok()) {
        asio::co_spawn(ex, refuse(std::move(socket), std::move(admitted)), asio::detached);
        continue;
      }
      asio::co_spawn(ex, session(std::move(socket), peer.address()), asio::detached);
    }
  }

  Task<void> drain() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = Clock::now() + ctx.opt.drain_timeout;
    while (active.load() > 0 && Clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(20));
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(kUse, ec));
    }
    if (active.load() > 0) spdlog::warn("shutting down with {} requests still in flight", active.load());
    ioc.stop();
  }

  void begin_stop() {
    if (ctx.stopping.exchange(true)) return;
    beast::error_code ec;
    acceptor.close(ec);
    asio::co_spawn(ioc, drain(), asio::detached);
  }

  void reload_async() {
    std::lock_guard lock(reload_mu);
    reload_threads.emplace_back([this] {
      Status s = ctx.gw.reload();
      if (!s.ok()) spdlog::error("SIGHUP reload failed: {}", s.to_string());
    });
  }

  void wait_signals(asio::signal_set& signals) {
    signals.async_wait([this, &signals](const beast::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload_async();
        wait_signals(signals);
        return;
      }
      begin_stop();
    });
  }
};

HttpServer::HttpServer(ServerOptions options, Gateway& gateway)
    : impl_(std::make_unique<Impl>(std::move(options), gateway)) {}

HttpServer::~HttpServer() {
  impl_->ctx.workers.stop();
  std::lock_guard lock(impl_->reload_mu);
  for (auto& t : impl_->reload_threads)
    if (t.joinable()) t.join();
}

Result<int> HttpServer::listen() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->ctx.opt.host, ec);
  if (ec) return make_error(ErrorCode::kInvalidArgument, "--host: not an IP address: " + impl_->ctx.opt.host);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(impl_->ctx.opt.port));
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorCode::kUnavailable, "cannot listen on " + impl_->ctx.opt.host + ":" +
                                                   std::to_string(impl_->ctx.opt.port) + ": " + ec.message());
  if (!address.is_loopback() && impl_->ctx.opt.metrics_token.empty())
    spdlog::warn("GET /metrics is open to anyone who reaches {}; --metrics-token-env makes it require a token",
                 impl_->ctx.opt.host);
  return static_cast<int>(acceptor.local_endpoint().port());
}

void HttpServer::run() {
  Impl& s = *impl_;
  asio::signal_set signals(s.ioc, SIGTERM, SIGINT, SIGHUP);
  s.wait_signals(signals);
  asio::co_spawn(s.ioc, s.accept_loop(), asio::detached);
  std::vector<std::thread> extra;
  for (int i = 1; i < s.ctx.opt.io_threads; ++i) extra.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : extra) t.join();
  // A worker may still wait on a call of `upstream` (a macro's HTTP step that outlived
  // the drain): the loop runs on until the workers are done, so that every such call ends
  // (at the latest at its own timeout) instead of waiting on a stopped loop.
  s.ioc.restart();
  auto work = asio::make_work_guard(s.ioc);
  std::thread rest([&s] { s.ioc.run(); });
  s.ctx.workers.stop();
  work.reset();
  s.ioc.stop();
  rest.join();
}

const ladder::http::Client& HttpServer::upstream() const { return impl_->upstream; }

void HttpServer::request_stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_stop(); });
}

}  // namespace ladder::server
