// The bridge between a worker thread (which blocks on a model) and the connection's
// coroutine (which must not): a Job carries the deltas and the result back; the
// endpoints' shared context submits jobs to the bounded WorkerPool.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "server/errors.h"
#include "server/gateway.h"
#include "server/http_io.h"
#include "server/http_server.h"
#include "server/worker_pool.h"

namespace ladder::server {

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
  // Waits for a job that streams nothing.
  Task<void> wait_done() {
    while (!finished()) co_await wait();
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
  // The work threw: logged here; the client gets `crashed` (internal) instead.
  void crash(std::string_view what) {
    spdlog::error("a worker job threw: {}", what);
    crashed = internal_failure();
  }

  std::weak_ptr<Job> self;
  asio::steady_timer timer;
  std::mutex mu;  // guards deltas, done
  std::deque<std::string> deltas;
  bool done = false;
  std::atomic<bool> cancelled{false};  // the client went away: stop generating

  // Results, written before finish() on the worker thread; `crashed` when the work threw
  // (the others may then be unset).
  std::optional<Status> crashed;
  std::optional<Result<RoutedOutcome>> routed;
  std::optional<Result<PassThroughOutcome>> passed;
  std::optional<Result<ForwardReply>> relayed;
  std::optional<Result<nlohmann::json>> value;
};

inline std::shared_ptr<Job> make_job(const asio::any_io_executor& ex) {
  auto job = std::make_shared<Job>(ex);
  job->self = job;
  return job;
}

// Runs `work` for `job`: an exception out of it (a nlohmann type_error, std::bad_alloc,
// ...) becomes the job's `crashed` status, which the endpoint answers through the error
// funnel. False when it threw.
template <typename F>
bool run_guarded(Job& job, F&& work) {
  try {
    work();
    return true;
  } catch (const std::exception& e) {
    job.crash(e.what());
  } catch (...) {
    job.crash("an exception that is not a std::exception");
  }
  return false;
}

// Runs `work` on a worker of `pool`, then finishes the job; an exception never reaches
// the worker thread. False when the queue is full (nothing runs then).
template <typename F>
bool submit_job(WorkerPool& pool, const std::shared_ptr<Job>& job, F&& work) {
  return pool.try_submit([job, work = std::forward<F>(work)]() mutable { run_guarded(*job, work); },
                         [job] { job->finish(); });
}

// Like submit_job(), for work that hands the job on (to the event loop) and finishes it
// there: only when `work` throws is the job finished here.
template <typename F>
bool submit_step(WorkerPool& pool, const std::shared_ptr<Job>& job, F&& work) {
  return pool.try_submit([job, work = std::forward<F>(work)]() mutable {
    if (!run_guarded(*job, work)) job->finish();
  });
}

// What every endpoint handler needs: the options, the gateway, the worker pool and
// whether the server is shutting down.
struct ServerContext {
  ServerContext(ServerOptions o, Gateway& g)
      : opt(std::move(o)),
        gw(g),
        workers(static_cast<std::size_t>(std::max(1, opt.workers)),
                static_cast<std::size_t>(std::max(0, opt.max_queue))) {}

  ServerOptions opt;
  Gateway& gw;
  WorkerPool workers;
  // The upstream client on the server's own event loop: relays run on the I/O threads.
  const ladder::http::Client* upstream = nullptr;
  std::atomic<bool> stopping{false};

  bool closing() const { return stopping.load(); }

  // submit_job on the server's pool.
  template <typename F>
  bool submit(const std::shared_ptr<Job>& job, F&& work) {
    return submit_job(workers, job, std::forward<F>(work));
  }

  // A routed request (Gateway::route in its steps), its outcome in job->routed, then
  // job->finish(): screened here (an I/O thread); the local tiers on a worker when the
  // request needs them; the escalation on the event loop when the router escalates there
  // (Router::escalates_async), else on a worker. A request that needs no model call or
  // only the loop never waits for a worker. False when the worker queue had no room
  // (nothing ran). Defined in routed_job.cpp.
  bool route(const std::shared_ptr<Job>& job, std::shared_ptr<Router> router, RouteRequest request,
             const ClientIdentity& client);

  // The refusal of a request the worker pool has no room for, in `format`'s shape.
  Reply queue_full(const ErrorFormat& format = kOpenAiErrors) {
    gw.metrics().add("ladder_rejected_total", {{"cause", "queue_full"}});
    return api_error_reply(
        format.error(make_error(ErrorCode::kRateLimited, "ladder is at its limit of requests in flight; retry later"),
                     {}, opt.retry_after_s));
  }
};

// The streamed half of an endpoint that waits on a Job: each batch of the job's pieces
// goes out as one chunk as it comes, the event-stream head (with `headers`) and `opening`
// first, when the first batch comes. `piece` turns one piece into the bytes the client
// gets. A client gone cancels the job (its work stops at its next piece). Returns when
// the job is done and drained; `headers_sent` says whether a stream began (else the
// endpoint answers whole), `client_ok` whether the client is still there.
struct JobStream {
  explicit JobStream(unsigned version) : head{http::status::ok, version}, serializer{head} {}
  http::response<http::empty_body> head;
  http::response_serializer<http::empty_body> serializer;
  bool headers_sent = false;
  bool client_ok = true;
};
using PieceFormat = std::function<std::string(const std::string& piece)>;
// The callers pass named values only: g++ 12 mishandles temporaries of a co_await
// expression (it destroys class-type coroutine arguments twice).
inline Task<void> stream_job(Connection& conn, const Request& req, Job& job, JobStream& out,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             const std::string& opening, const PieceFormat& piece) {
  for (;;) {
    co_await job.wait();
    auto pieces = job.take();
    if (!pieces.empty() && out.client_ok) {
      std::string bytes;
      if (!out.headers_sent) {
        event_stream_head(out.head, headers, req.keep_alive());
        out.client_ok = co_await write_header(conn, out.serializer);
        out.headers_sent = true;
        bytes = opening;
      }
      for (const auto& p : pieces) bytes += piece(p);
      if (out.client_ok) out.client_ok = co_await write_chunk(conn, std::move(bytes));
      if (!out.client_ok) job.cancelled.store(true);
    }
    if (job.drained()) co_return;
  }
}

}  // namespace ladder::server
