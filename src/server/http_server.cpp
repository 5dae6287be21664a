// The only translation unit of the server that includes Boost.Beast / Asio.
#include <utility>  // before asio with Boost 1.74 on g++ 12

#include "server/http_server.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "router/decision_json.h"
#include "server/errors.h"
#include "server/openai_api.h"
#include "server/sse.h"
#include "server/task_classifier.h"
#include "server/worker_pool.h"

namespace ladder::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using Request = http::request<http::string_body>;
template <typename T>
using Task = asio::awaitable<T>;

constexpr auto kUse = asio::use_awaitable;

std::string new_request_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id = "req_";
  for (int i = 0; i < 16; ++i) id += kHex[rng() & 0xF];
  return id;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A fixed label per route keeps the metric's cardinality bounded.
std::string endpoint_label(std::string_view path) {
  for (std::string_view known :
       {"/v1/chat/completions", "/v1/route", "/v1/run", "/v1/models", "/healthz", "/readyz", "/metrics"})
    if (path == known) return std::string(known);
  if (path.substr(0, 7) == "/admin/") return "/admin";
  return "other";
}

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply json_reply(int status, const json& body) { return {status, dump(body), "application/json", {}}; }

Reply error_reply(const Status& status, std::string_view param = {}, std::optional<int> retry_after = std::nullopt) {
  ApiError e = make_api_error(status, param, retry_after);
  Reply r = json_reply(e.http_status, e.body);
  if (e.retry_after_s) r.headers.emplace_back("Retry-After", std::to_string(*e.retry_after_s));
  return r;
}

// Work done on a worker thread for one request; the connection's coroutine waits on it.
// Deltas and completion are posted to the coroutine's executor, which cancels the timer
// the coroutine waits on (timer used as a wake-up signal).
struct Job {
  explicit Job(const asio::any_io_executor& ex) : timer(ex) { timer.expires_at(Clock::time_point::max()); }

  void push(std::string delta) {
    {
      std::lock_guard lock(mu);
      deltas.push_back(std::move(delta));
    }
    notify();
  }
  void finish() {
    {
      std::lock_guard lock(mu);
      done = true;
    }
    notify();
  }
  void notify() {
    asio::post(timer.get_executor(), [this, keep = self.lock()] { timer.cancel(); });
  }
  // Waits until a delta or completion is there.
  Task<void> wait() {
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (done || !deltas.empty()) co_return;
      }
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(kUse, ec));
    }
  }
  std::deque<std::string> take() {
    std::lock_guard lock(mu);
    return std::exchange(deltas, {});
  }
  bool finished() {
    std::lock_guard lock(mu);
    return done;
  }
  bool drained() {
    std::lock_guard lock(mu);
    return done && deltas.empty();
  }

  std::weak_ptr<Job> self;
  asio::steady_timer timer;
  std::mutex mu;  // guards deltas, done
  std::deque<std::string> deltas;
  bool done = false;
  std::atomic<bool> cancelled{false};  // the client went away: stop generating

  // Results, written before finish() on the worker thread.
  std::optional<Result<RoutedOutcome>> routed;
  std::optional<Result<PassThroughOutcome>> passed;
  std::optional<Result<json>> value;
};

std::shared_ptr<Job> make_job(const asio::any_io_executor& ex) {
  auto job = std::make_shared<Job>(ex);
  job->self = job;
  return job;
}

}  // namespace

struct HttpServer::Impl {
  Impl(ServerOptions o, Gateway& g)
      : opt(std::move(o)),
        gw(g),
        workers(static_cast<std::size_t>(std::max(1, opt.workers)),
                static_cast<std::size_t>(std::max(0, opt.max_queue))) {}

  ServerOptions opt;
  Gateway& gw;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  WorkerPool workers;
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};  // requests being handled
  std::mutex reload_mu;        // guards reload_threads
  std::vector<std::thread> reload_threads;

  // ---- plumbing -------------------------------------------------------------------------
  Task<bool> send(beast::tcp_stream& stream, const Request& req, Reply reply) {
    http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
    res.set(http::field::server, "ladder");
    res.set(http::field::content_type, reply.content_type);
    for (const auto& [k, v] : reply.headers) res.set(k, v);
    const bool keep = req.keep_alive() && !stopping.load();
    res.keep_alive(keep);
    res.body() = std::move(reply.body);
    res.prepare_payload();
    beast::error_code ec;
    co_await http::async_write(stream, res, asio::redirect_error(kUse, ec));
    co_return keep && !ec;
  }

  Task<bool> write_raw(beast::tcp_stream& stream, std::string data) {
    beast::error_code ec;
    co_await asio::async_write(stream, http::make_chunk(asio::buffer(data)), asio::redirect_error(kUse, ec));
    co_return !ec;
  }

  Task<bool> end_chunks(beast::tcp_stream& stream) {
    beast::error_code ec;
    co_await asio::async_write(stream, http::make_chunk_last(), asio::redirect_error(kUse, ec));
    co_return !ec;
  }

  // After refusing a request whose body is still arriving: stop sending, read and drop
  // what comes for a moment, so that the client reads the answer instead of a reset.
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

  template <typename F>
  bool submit(const std::shared_ptr<Job>& job, F&& work) {
    return workers.try_submit([job, work = std::forward<F>(work)]() mutable {
      work();
      job->finish();
    });
  }

  Reply queue_full() {
    gw.metrics().add("ladder_rejected_total", {{"cause", "queue_full"}});
    return error_reply(make_error(ErrorCode::kRateLimited, "ladder is at its limit of requests in flight; retry later"),
                       {}, opt.retry_after_s);
  }

  std::optional<ClientIdentity> client_of(const Request& req) const {
    if (opt.keys.empty()) return ClientIdentity{"anonymous"};
    auto name = opt.keys.identify(presented_key(sv(req[http::field::authorization]), sv(req["x-api-key"])));
    if (!name) return std::nullopt;
    return ClientIdentity{*name};
  }

  // ---- endpoints ------------------------------------------------------------------------
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
      auto& m = gw.metrics();
      m.add("ladder_http_requests_total", {{"endpoint", endpoint}, {"status", std::to_string(status)}});
      m.observe("ladder_http_request_duration_seconds", {{"endpoint", endpoint}}, seconds_since(t0));
    };

    Reply reply;
    if (path == "/healthz" && method == http::verb::get) {
      reply = json_reply(200, {{"status", "ok"}});
    } else if (path == "/readyz" && method == http::verb::get) {
      json r = gw.readiness();
      reply = json_reply(r["ready"].get<bool>() ? 200 : 503, r);
    } else if (path == "/metrics" && method == http::verb::get) {
      gw.metrics().set("ladder_in_flight_requests", {}, static_cast<double>(workers.in_flight()));
      reply = {200, gw.metrics().render(), "text/plain; version=0.0.4; charset=utf-8", {}};
    } else if (path.rfind("/admin/", 0) == 0) {
      reply = co_await admin(req, path);
    } else if (path.rfind("/v1/", 0) == 0) {
      auto client = client_of(req);
      if (!client) {
        gw.metrics().add("ladder_rejected_total", {{"cause", "unauthenticated"}});
        reply = error_reply(
            make_error(ErrorCode::kUnauthenticated, "missing or unknown API key (send Authorization: Bearer <key>)"));
      } else if (path == "/v1/chat/completions" && method == http::verb::post) {
        auto [code, kept] = co_await chat(stream, req, *client, t0);
        finish(code);
        co_return kept;
      } else if (path == "/v1/route" && method == http::verb::post) {
        reply = co_await route(req, *client);
      } else if (path == "/v1/run" && method == http::verb::post) {
        reply = co_await run_macro(req, *client);
      } else if (path == "/v1/models" && method == http::verb::get) {
        reply = json_reply(200, models_json(gw.router()->config()));
      } else {
        reply =
            error_reply(make_error(ErrorCode::kNotFound, "no route " + std::string(req.method_string()) + " " + path));
      }
    } else {
      reply =
          error_reply(make_error(ErrorCode::kNotFound, "no route " + std::string(req.method_string()) + " " + path));
    }
    const int code = reply.status;
    keep = co_await send(stream, req, std::move(reply));
    finish(code);
    co_return keep;
  }

  // Waits for a job that streams nothing.
  Task<void> wait_done(const std::shared_ptr<Job>& job) {
    while (!job->finished()) co_await job->wait();
  }

  Task<Reply> route(const Request& req, const ClientIdentity& client) {
    std::string param;
    auto parsed = parse_route_request(req.body(), &param);
    if (!parsed.ok()) co_return error_reply(parsed.status(), param);
    auto job = make_job(co_await asio::this_coro::executor);
    RouteRequest rr;
    rr.task = parsed->task;
    rr.input = std::move(parsed->input);
    rr.options = parsed->options;
    rr.request_id = new_request_id();
    if (!submit(job,
                [this, job, rr = std::move(rr), client]() mutable { job->routed = gw.route(std::move(rr), client); }))
      co_return queue_full();
    co_await wait_done(job);
    const auto& outcome = *job->routed;
    if (!outcome.ok()) co_return error_reply(outcome.status(), "input");
    const Decision& d = outcome->decision;
    Reply r =
        json_reply(200, {{"answer", d.answer}, {"answer_text", d.answer_text}, {"decision", decision_to_json(d)}});
    add_decision_headers(r, d);
    co_return r;
  }

  Task<Reply> run_macro(const Request& req, const ClientIdentity& client) {
    if (!opt.run_handler)
      co_return error_reply(make_error(ErrorCode::kNotImplemented, "/v1/run is not wired in this build of ladder"));
    auto body = parse_json_object(req.body());
    if (!body.ok()) co_return error_reply(body.status());
    auto job = make_job(co_await asio::this_coro::executor);
    if (!submit(job,
                [this, job, body = std::move(body).value(), client] { job->value = opt.run_handler(body, client); }))
      co_return queue_full();
    co_await wait_done(job);
    if (!job->value->ok()) co_return error_reply(job->value->status());
    co_return json_reply(200, job->value->value());
  }

  Task<Reply> admin(const Request& req, const std::string& path) {
    if (opt.admin_token.empty())
      co_return error_reply(
          make_error(ErrorCode::kPermissionDenied, "the admin API is off: start ladder serve with --admin-token-env"));
    auto presented = presented_key(sv(req[http::field::authorization]), sv(req["x-api-key"]));
    if (presented.empty() || !secrets_equal(presented, opt.admin_token)) {
      gw.metrics().add("ladder_rejected_total", {{"cause", "unauthenticated"}});
      co_return error_reply(make_error(ErrorCode::kUnauthenticated, "missing or wrong admin token"));
    }
    const auto method = req.method();
    auto state = [this] {
      AdminState a = gw.admin();
      const Config& c = gw.router()->config();
      json tasks = json::array();
      for (const auto& t : a.kill_tasks) tasks.push_back(t);
      return json{{"kill_switch", {{"global", a.kill_all}, {"tasks", tasks}, {"policy", c.kill_switch}}},
                  {"shadow", {{"override", a.shadow ? json(*a.shadow) : json()}, {"policy", c.shadow}}},
                  {"policy", c.source_path},
                  {"pid", static_cast<long long>(getpid())}};
    };
    if (path == "/admin/state" && method == http::verb::get) co_return json_reply(200, state());
    if (path == "/admin/reload" && method == http::verb::post) {
      auto job = make_job(co_await asio::this_coro::executor);
      if (!submit(job, [this, job] {
            Status s = gw.reload();
            job->value = s.ok() ? Result<json>(json{{"reloaded", true}}) : Result<json>(s);
          }))
        co_return queue_full();
      co_await wait_done(job);
      if (!job->value->ok()) co_return error_reply(job->value->status());
      co_return json_reply(200, state());
    }
    const bool kill = path == "/admin/kill-switch" && method == http::verb::post;
    const bool shadow = path == "/admin/shadow" && method == http::verb::post;
    if (!kill && !shadow)
      co_return error_reply(
          make_error(ErrorCode::kNotFound, "no route " + std::string(req.method_string()) + " " + path));
    auto body = parse_json_object(req.body());
    if (!body.ok()) co_return error_reply(body.status());
    const json& b = *body;
    if (kill) {
      if (!b.contains("enabled") || !b["enabled"].is_boolean())
        co_return error_reply(make_error(ErrorCode::kInvalidArgument, "enabled: expected a boolean"), "enabled");
      std::optional<std::string> task;
      if (b.contains("task") && !b["task"].is_null()) {
        if (!b["task"].is_string())
          co_return error_reply(make_error(ErrorCode::kInvalidArgument, "task: expected a string"), "task");
        task = b["task"].get<std::string>();
      }
      if (Status s = gw.set_kill_switch(b["enabled"].get<bool>(), task); !s.ok()) co_return error_reply(s, "task");
    } else {
      if (!b.contains("enabled") || !(b["enabled"].is_boolean() || b["enabled"].is_null()))
        co_return error_reply(make_error(ErrorCode::kInvalidArgument, "enabled: expected a boolean or null"),
                              "enabled");
      gw.set_shadow(b["enabled"].is_null() ? std::nullopt : std::optional<bool>(b["enabled"].get<bool>()));
    }
    co_return json_reply(200, state());
  }

  static void add_decision_headers(Reply& r, const Decision& d) {
    r.headers.emplace_back("x-ladder-request-id", d.request_id);
    r.headers.emplace_back("x-ladder-route", d.route);
    if (d.reason) r.headers.emplace_back("x-ladder-reason", std::string(reason_name(*d.reason)));
    for (auto it = d.tiers.rbegin(); it != d.tiers.rend(); ++it)
      if (it->ok) {
        r.headers.emplace_back("x-ladder-tier", it->tier_name);
        r.headers.emplace_back("x-ladder-model", it->model_name);
        break;
      }
  }

  // A routed decision that gave no answer, as an error for the client.
  static std::optional<Status> decision_failure(const Decision& d) {
    if (d.route == "refused")
      return make_error(ErrorCode::kPermissionDenied, "privacy forbids the escalation this request needs (" +
                                                          (d.reason ? std::string(reason_name(*d.reason)) : "") +
                                                          "): " + d.reason_detail);
    if (d.route == "frontier" && !d.frontier_ok) {
      std::string_view err = d.frontier_error;
      if (err.rfind("mid_stream: ", 0) == 0) err.remove_prefix(12);
      return make_error(code_from_message(err), "escalated (" + (d.reason ? std::string(reason_name(*d.reason)) : "") +
                                                    ") but no tier answered: " + std::string(err));
    }
    return std::nullopt;
  }

  // POST /v1/chat/completions; returns the status sent and whether to keep the connection.
  Task<std::pair<int, bool>> chat(beast::tcp_stream& stream, const Request& req, const ClientIdentity& client,
                                  Clock::time_point t0) {
    std::string param;
    auto parsed = parse_chat_request(req.body(), &param);
    if (!parsed.ok()) {
      Reply r = error_reply(parsed.status(), param);
      const int code = r.status;
      co_return std::pair{code, co_await send(stream, req, std::move(r))};
    }
    ChatCompletionRequest chat = std::move(parsed).value();
    std::shared_ptr<Router> router = gw.router();
    const std::string request_id = new_request_id();
    ChatAnswer base;
    base.id = "chatcmpl-" + request_id;
    base.created = unix_now();
    base.model = chat.model;

    std::optional<std::string> task = task_from_model(chat.model);
    const bool routed = chat.model == kAutoModel || task.has_value();
    std::string model_name;
    std::string input;
    if (routed) {
      input = routed_input(chat);
      if (!task) task = chat.task ? *chat.task : classify_task(router->config(), input);
    } else {
      auto m = gw.resolve_model(*router, chat.model);
      if (!m) {
        Reply r = error_reply(make_error(ErrorCode::kNotFound,
                                         "model '" + chat.model + "' is not served here (GET /v1/models lists them)"),
                              "model");
        co_return std::pair{404, co_await send(stream, req, std::move(r))};
      }
      model_name = *m;
    }

    auto job = make_job(co_await asio::this_coro::executor);
    DeltaFn on_delta;
    if (chat.stream)
      on_delta = [job](std::string_view d) {
        if (job->cancelled.load()) return false;
        job->push(std::string(d));
        return true;
      };
    bool accepted;
    if (routed) {
      RouteRequest rr;
      rr.task = *task;
      rr.input = std::move(input);
      rr.request_id = request_id;
      rr.options = chat.options;
      rr.on_delta = on_delta;
      rr.inter_token_timeout = opt.inter_token_timeout;
      accepted = submit(
          job, [this, job, rr = std::move(rr), client]() mutable { job->routed = gw.route(std::move(rr), client); });
    } else {
      GenerationRequest g;
      g.messages = chat.messages;
      g.max_tokens = chat.max_tokens.value_or(1024);
      g.temperature = chat.temperature.value_or(0.0);
      g.want_logprobs = false;
      g.timeout = std::chrono::milliseconds(router->config().models.at(model_name).request_timeout_ms);
      g.inter_token_timeout = opt.inter_token_timeout;
      accepted = submit(job, [this, job, g = std::move(g), on_delta, model_name, request_id, client] {
        job->passed = gw.pass_through(model_name, g, on_delta ? &on_delta : nullptr, request_id, client);
      });
    }
    if (!accepted) co_return std::pair{429, co_await send(stream, req, queue_full())};

    // ---- wait, streaming deltas as they come -------------------------------------------
    bool headers_sent = false;
    bool client_ok = true;
    http::response<http::empty_body> head{http::status::ok, req.version()};
    http::response_serializer<http::empty_body> serializer{head};
    for (;;) {
      co_await job->wait();
      auto deltas = job->take();
      if (!deltas.empty() && client_ok) {
        std::string out;
        if (!headers_sent) {
          head.set(http::field::server, "ladder");
          head.set(http::field::content_type, "text/event-stream");
          head.set(http::field::cache_control, "no-cache");
          head.set("x-ladder-request-id", request_id);
          head.set("x-ladder-route", routed ? "frontier" : "pass_through");
          if (!routed) head.set("x-ladder-model", model_name);
          head.chunked(true);
          head.keep_alive(req.keep_alive());
          beast::error_code ec;
          co_await http::async_write_header(stream, serializer, asio::redirect_error(kUse, ec));
          headers_sent = true;
          client_ok = !ec;
          out += sse_event(chat_chunk_json(base, "", true, std::nullopt));
        }
        for (auto& d : deltas) out += sse_event(chat_chunk_json(base, d, false, std::nullopt));
        if (client_ok) client_ok = co_await write_raw(stream, std::move(out));
        if (!client_ok) job->cancelled.store(true);
      }
      if (job->drained()) break;
    }

    // ---- the outcome ---------------------------------------------------------------------
    std::optional<Status> failure;
    std::string text;
    json ladder;
    double backend_ms = 0.0;
    Reply reply;
    if (routed) {
      const auto& outcome = *job->routed;
      if (!outcome.ok()) {
        failure = outcome.status();
      } else {
        const Decision& d = outcome->decision;
        backend_ms = outcome->backend_ms;
        failure = decision_failure(d);
        text = d.answer_text;
        ladder = decision_extension(d);
        add_decision_headers(reply, d);
        for (auto it = d.tiers.rbegin(); it != d.tiers.rend(); ++it)
          if (it->ok) {  // usage of the call that answered
            base.prompt_tokens = it->prompt_tokens;
            base.completion_tokens = it->completion_tokens;
            break;
          }
        if (chat.stream) {
          for (const auto& t : d.tiers)
            if (t.tier > 0 && !t.ok && d.frontier_ok)
              gw.metrics().add("ladder_stream_failures_total", {{"class", "before_first_token"}});
        }
      }
    } else {
      const auto& outcome = *job->passed;
      if (!outcome.ok()) {
        failure = outcome.status();
        if (headers_sent) gw.metrics().add("ladder_stream_failures_total", {{"class", "mid_stream"}});
      } else {
        text = outcome->result.text;
        backend_ms = outcome->result.latency_ms;
        base.prompt_tokens = outcome->result.prompt_tokens;
        base.completion_tokens = outcome->result.completion_tokens;
        if (!outcome->result.finish_reason.empty() && outcome->result.finish_reason != "cancelled")
          base.finish_reason = outcome->result.finish_reason == "length" ? "length" : "stop";
      }
      ladder = {{"request_id", request_id}, {"route", "pass_through"}, {"model", model_name}};
      reply.headers.emplace_back("x-ladder-request-id", request_id);
      reply.headers.emplace_back("x-ladder-route", "pass_through");
      reply.headers.emplace_back("x-ladder-model", model_name);
    }
    if (failure && failure->code() == ErrorCode::kTimeout && chat.stream)
      gw.metrics().add("ladder_stream_failures_total", {{"class", "inter_token_timeout"}});
    gw.metrics().observe("ladder_gateway_overhead_seconds", {}, std::max(0.0, seconds_since(t0) - backend_ms / 1000.0));

    if (!headers_sent) {
      if (failure) {
        Reply r = error_reply(*failure);
        for (auto& h : reply.headers) r.headers.push_back(h);
        const int code = r.status;
        co_return std::pair{code, co_await send(stream, req, std::move(r))};
      }
      if (!chat.stream) {
        base.text = text;
        base.ladder = ladder;
        reply.status = 200;
        reply.body = dump(chat_completion_json(base));
        co_return std::pair{200, co_await send(stream, req, std::move(reply))};
      }
      // A stream whose answer came whole (a validated local answer): one content delta.
      head.set(http::field::server, "ladder");
      head.set(http::field::content_type, "text/event-stream");
      head.set(http::field::cache_control, "no-cache");
      for (const auto& [k, v] : reply.headers) head.set(k, v);
      head.chunked(true);
      head.keep_alive(req.keep_alive() && !stopping.load());
      beast::error_code ec;
      co_await http::async_write_header(stream, serializer, asio::redirect_error(kUse, ec));
      if (ec) co_return std::pair{200, false};
      headers_sent = true;
      std::string out = sse_event(chat_chunk_json(base, "", true, std::nullopt));
      if (!text.empty()) out += sse_event(chat_chunk_json(base, text, false, std::nullopt));
      client_ok = co_await write_raw(stream, std::move(out));
    }
    if (!client_ok) co_return std::pair{200, false};
    if (failure) {
      // Mid-stream: part of the answer is with the client. End with an error event, no [DONE].
      ApiError e = make_api_error(*failure);
      co_await write_raw(stream, sse_event(e.body));
      co_await end_chunks(stream);
      co_return std::pair{200, false};
    }
    std::string out = sse_event(chat_chunk_json(base, std::nullopt, false, base.finish_reason, ladder));
    if (chat.include_usage) out += sse_event(usage_chunk_json(base));
    out += kSseDone;
    client_ok = co_await write_raw(stream, std::move(out));
    if (client_ok) client_ok = co_await end_chunks(stream);
    co_return std::pair{200, client_ok && req.keep_alive() && !stopping.load()};
  }

  // ---- connections ----------------------------------------------------------------------
  Task<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(opt.max_body_bytes);
      parser.header_limit(32 * 1024);
      stream.expires_after(opt.idle_timeout);
      beast::error_code ec;
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(kUse, ec));
      if (ec == http::error::body_limit) {
        gw.metrics().add("ladder_rejected_total", {{"cause", "body_too_large"}});
        Request req;
        req.version(11);
        req.keep_alive(false);
        Reply r = error_reply(make_error(
            ErrorCode::kPayloadTooLarge,
            "request body is larger than " + std::to_string(opt.max_body_bytes) + " bytes (--max-body-bytes)"));
        stream.expires_after(std::chrono::seconds(5));
        co_await send(stream, req, std::move(r));
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
                      error_reply(make_error(ErrorCode::kParseError, "malformed HTTP request: " + ec.message())));
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
      if (!keep || stopping.load()) break;
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  Task<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(ioc), asio::redirect_error(kUse, ec));
      if (ec) {
        if (stopping.load() || ec == asio::error::operation_aborted) co_return;
        continue;  // e.g. EMFILE: keep accepting
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto ex = socket.get_executor();
      asio::co_spawn(ex, session(std::move(socket)), asio::detached);
    }
  }

  Task<void> drain() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = Clock::now() + opt.drain_timeout;
    while (active.load() > 0 && Clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(20));
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(kUse, ec));
    }
    if (active.load() > 0) spdlog::warn("shutting down with {} requests still in flight", active.load());
    ioc.stop();
  }

  void begin_stop() {
    if (stopping.exchange(true)) return;
    beast::error_code ec;
    acceptor.close(ec);
    asio::co_spawn(ioc, drain(), asio::detached);
  }

  void reload_async() {
    std::lock_guard lock(reload_mu);
    reload_threads.emplace_back([this] {
      Status s = gw.reload();
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
  impl_->workers.stop();
  std::lock_guard lock(impl_->reload_mu);
  for (auto& t : impl_->reload_threads)
    if (t.joinable()) t.join();
}

Result<int> HttpServer::listen() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->opt.host, ec);
  if (ec) return make_error(ErrorCode::kInvalidArgument, "--host: not an IP address: " + impl_->opt.host);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(impl_->opt.port));
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorCode::kUnavailable, "cannot listen on " + impl_->opt.host + ":" +
                                                   std::to_string(impl_->opt.port) + ": " + ec.message());
  return static_cast<int>(acceptor.local_endpoint().port());
}

void HttpServer::run() {
  Impl& s = *impl_;
  asio::signal_set signals(s.ioc, SIGTERM, SIGINT, SIGHUP);
  s.wait_signals(signals);
  asio::co_spawn(s.ioc, s.accept_loop(), asio::detached);
  std::vector<std::thread> extra;
  for (int i = 1; i < s.opt.io_threads; ++i) extra.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : extra) t.join();
  s.workers.stop();
}

void HttpServer::request_stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_stop(); });
}

}  // namespace ladder::server
