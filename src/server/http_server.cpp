// Transport of `ladder serve`: the listener, connections (keep-alive, body limit, idle
// timeout), dispatch to the endpoints, graceful drain and the signals (SIGTERM/SIGINT
// stop, SIGHUP reloads the policy).
#include "server/http_server.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "server/endpoints.h"
#include "server/errors.h"
#include "server/openai_api.h"

namespace ladder::server {

using nlohmann::json;

struct HttpServer::Impl {
  Impl(ServerOptions o, Gateway& g) : ctx(std::move(o), g) {}

  ServerContext ctx;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::atomic<int> active{0};  // requests being handled
  std::mutex reload_mu;        // guards reload_threads
  std::vector<std::thread> reload_threads;

  std::optional<ClientIdentity> client_of(const Request& req) const {
    if (ctx.opt.keys.empty()) return ClientIdentity{"anonymous"};
    auto name = ctx.opt.keys.identify(presented_key(sv(req[http::field::authorization]), sv(req["x-api-key"])));
    if (!name) return std::nullopt;
    return ClientIdentity{*name};
  }

  // ---- dispatch -------------------------------------------------------------------------
  Task<bool> handle(beast::tcp_stream& stream, Request& req) {
    const auto t0 = Clock::now();
    std::string path(req.target());
    if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
    const std::string endpoint = endpoint_label(path);
    const auto method = req.method();
    int status = 200;
    bool keep = true;

    auto finish = [&](int code) {
      status = code;
      auto& m = ctx.gw.metrics();
      m.add("ladder_http_requests_total", {{"endpoint", endpoint}, {"status", std::to_string(status)}});
      m.observe("ladder_http_request_duration_seconds", {{"endpoint", endpoint}}, seconds_since(t0));
    };

    Reply reply;
    if (path == "/healthz" && method == http::verb::get) {
      reply = json_reply(200, {{"status", "ok"}});
    } else if (path == "/readyz" && method == http::verb::get) {
      json r = ctx.gw.readiness();
      reply = json_reply(r["ready"].get<bool>() ? 200 : 503, r);
    } else if (path == "/metrics" && method == http::verb::get) {
      ctx.gw.metrics().set("ladder_in_flight_requests", {}, static_cast<double>(ctx.workers.in_flight()));
      reply = {200, ctx.gw.metrics().render(), "text/plain; version=0.0.4; charset=utf-8", {}};
    } else if (path.rfind("/admin/", 0) == 0) {
      reply = co_await admin_endpoint(ctx, req, path);
    } else if (path.rfind("/v1/", 0) == 0) {
      auto client = client_of(req);
      if (!client) {
        ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "unauthenticated"}});
        reply = error_reply(
            make_error(ErrorCode::kUnauthenticated, "missing or unknown API key (send Authorization: Bearer <key>)"));
      } else if (path == "/v1/chat/completions" && method == http::verb::post) {
        auto [code, kept] = co_await chat_completions(ctx, stream, req, *client, t0);
        finish(code);
        co_return kept;
      } else if (path == "/v1/route" && method == http::verb::post) {
        reply = co_await native_route(ctx, req, *client);
      } else if (path == "/v1/run" && method == http::verb::post) {
        reply = co_await run_macro(ctx, req, *client);
      } else if (path == "/v1/models" && method == http::verb::get) {
        reply = json_reply(200, models_json(ctx.gw.router()->config()));
      } else {
        reply = no_route(req, path);
      }
    } else {
      reply = no_route(req, path);
    }
    const int code = reply.status;
    keep = co_await send(stream, req, std::move(reply), ctx.closing());
    finish(code);
    co_return keep;
  }

  // ---- connections ----------------------------------------------------------------------
  Task<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(ctx.opt.max_body_bytes);
      parser.header_limit(32 * 1024);
      stream.expires_after(ctx.opt.idle_timeout);
      beast::error_code ec;
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(kUse, ec));
      if (ec == http::error::body_limit) {
        ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "body_too_large"}});
        Request req;
        req.version(11);
        req.keep_alive(false);
        Reply r = error_reply(make_error(
            ErrorCode::kPayloadTooLarge,
            "request body is larger than " + std::to_string(ctx.opt.max_body_bytes) + " bytes (--max-body-bytes)"));
        stream.expires_after(std::chrono::seconds(5));
        co_await send(stream, req, std::move(r), true);
        co_await linger_close(stream);
        co_return;
      }
      if (ec && ec.category() == http::make_error_code(http::error::bad_method).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        Request req;
        req.version(11);
        req.keep_alive(false);
        stream.expires_after(std::chrono::seconds(5));
        co_await send(stream, req,
                      error_reply(make_error(ErrorCode::kParseError, "malformed HTTP request: " + ec.message())), true);
        co_await linger_close(stream);
        co_return;
      }
      if (ec) break;
      stream.expires_never();
      Request req = parser.release();
      ++active;
      bool keep = false;
      try {
        keep = co_await handle(stream, req);
      } catch (const std::exception& e) {
        // Invariant broken in a handler: log, drop this connection, keep serving.
        spdlog::error("request {} {} failed: {}", std::string(req.method_string()), std::string(req.target()),
                      e.what());
      }
      --active;
      if (!keep || ctx.stopping.load()) break;
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  Task<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(ioc), asio::redirect_error(kUse, ec));
      if (ec) {
        if (ctx.stopping.load() || ec == asio::error::operation_aborted) co_return;
        continue;  // e.g. EMFILE: keep accepting
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto ex = socket.get_executor();
      asio::co_spawn(ex, session(std::move(socket)), asio::detached);
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
  s.ctx.workers.stop();
}

void HttpServer::request_stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_stop(); });
}

}  // namespace ladder::server
