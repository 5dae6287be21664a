// ServerContext::route: a routed request in the router's steps, each on the thread that
// suits it (worker_bridge.h).
#include <chrono>
#include <memory>
#include <utility>

#include "backends/http/http_client.h"
#include "server/worker_bridge.h"

namespace ladder::server {
namespace {

// One routed request between its steps; kept alive by whichever step runs next.
struct RoutedRun {
  RoutedRun(ServerContext& c, std::shared_ptr<Job> j, std::shared_ptr<Router> r, RouteRequest rr, ClientIdentity cl)
      : ctx(c), job(std::move(j)), router(std::move(r)), request(std::move(rr)), client(std::move(cl)) {}
  ServerContext& ctx;
  std::shared_ptr<Job> job;
  std::shared_ptr<Router> router;
  RouteRequest request;
  ClientIdentity client;
  RoutePlan plan;
};

// The record and metrics, the outcome for the endpoint, the job finished. The record is
// written without waiting on this thread (an I/O thread or a worker); the outcome comes
// back to the loop, so that the last reference to the request (and to its router) never
// goes on the store's writer thread.
void conclude(const std::shared_ptr<RoutedRun>& run) {
  const bool handed = run_guarded(*run->job, [&] {
    run->ctx.gw.finish_route_async(run->router, run->request, std::move(run->plan), run->client,
                                   [keep = run](Result<RoutedOutcome> outcome) mutable {
                                     auto owner = std::move(keep);
                                     const ladder::http::Client* loop = owner->ctx.upstream;
                                     auto deliver = [owner = std::move(owner), outcome = std::move(outcome)]() mutable {
                                       owner->job->routed = std::move(outcome);
                                       owner->job->finish();
                                     };
                                     if (loop == nullptr) return deliver();
                                     loop->after(std::chrono::milliseconds(0), std::move(deliver));
                                   });
  });
  if (!handed) run->job->finish();
}

bool escalates_on_loop(const RoutedRun& run) { return run.ctx.upstream != nullptr && run.router->escalates_async(); }

// Whether the whole request runs on the loop: its local tiers (network models) and any
// escalation alike, so that it never waits for a worker and holds none.
bool stays_on_loop(const RoutedRun& run) { return escalates_on_loop(run) && run.router->locals_async(); }

// The escalation, if the plan settles on one, then conclude(): on the loop when the
// router escalates there, else here (a worker).
void escalate_and_conclude(const std::shared_ptr<RoutedRun>& run) {
  auto from = run->router->settle(run->request, run->plan);
  if (!from) return conclude(run);
  if (escalates_on_loop(*run)) {
    return run->router->escalate_async(run->request, run->plan, *from, *run->ctx.upstream, [run] { conclude(run); });
  }
  run->router->escalate(run->request, run->plan, *from);
  conclude(run);
}

}  // namespace

bool ServerContext::route(const std::shared_ptr<Job>& job, std::shared_ptr<Router> router, RouteRequest request,
                          const ClientIdentity& client) {
  auto run = std::make_shared<RoutedRun>(*this, job, std::move(router), std::move(request), client);
  bool screened = false;
  const bool ran = run_guarded(*job, [&] {
    gw.prepare_route(run->request, run->client);
    auto plan = run->router->screen(run->request);
    if (!plan.ok()) {
      job->routed = plan.status();
      return;
    }
    run->plan = std::move(plan).value();
    screened = true;
  });
  if (!ran || !screened) {
    job->finish();
    return true;
  }
  if (!run->plan.local_pending && escalates_on_loop(*run)) {
    // Gates or a hard stop decided: no model of this machine is called, no worker is used.
    if (!run_guarded(*job, [&] { escalate_and_conclude(run); })) job->finish();
    return true;
  }
  if (stays_on_loop(*run)) {
    // The local tiers are network models: their calls end on the loop like an escalation's.
    const bool started = run_guarded(*job, [&] {
      run->router->run_local_tiers_async(
          run->request, run->plan, *upstream,
          [run] {
            if (!run_guarded(*run->job, [&] { escalate_and_conclude(run); })) run->job->finish();
          },
          [run](std::exception_ptr thrown) {
            run_guarded(*run->job, [&] { std::rethrow_exception(thrown); });
            run->job->finish();
          });
    });
    if (!started) job->finish();
    return true;
  }
  return submit_step(workers, job, [run] {
    run->router->run_local_tiers(run->request, run->plan);
    escalate_and_conclude(run);
  });
}

}  // namespace ladder::server
