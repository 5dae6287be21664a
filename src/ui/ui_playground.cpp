// The playground's endpoints: a request routed in the router's steps on a worker, each
// step's outcome sent as a server-sent event as it completes; and macros through the
// same code as POST /v1/run (plan, approval, run).
#include <chrono>
#include <memory>

#include "router/decision_json.h"
#include "server/openai_api.h"
#include "server/sse.h"
#include "server/task_classifier.h"
#include "ui/ui_api.h"
#include "ui/ui_endpoints.h"

namespace ladder::ui {

using nlohmann::json;
using server::Reply;
using server::Task;

namespace {

constexpr std::size_t kMaxShownInputChars = 8000;

Reply secured(Reply r) {
  for (auto& h : security_headers()) r.headers.push_back(std::move(h));
  return r;
}

// One stage's event: its name, the milliseconds since the request began, and the decision
// as it stands (what later stages have not filled in is absent or empty).
std::string stage_event(const char* stage, const RoutePlan& plan, json extra = json::object()) {
  extra["stage"] = stage;
  extra["elapsed_ms"] =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - plan.start).count();
  extra["decision"] = decision_to_json(plan.d, ErrorDetail::kPublic);
  return server::sse_event("stage", extra);
}

std::string error_event(const Status& s) { return server::sse_event("error", server::make_api_error(s).body); }

// The steps of Gateway::route, each followed by its event (on a worker thread).
void route_in_steps(server::ServerContext& ctx, server::Job& job, const std::shared_ptr<Router>& router,
                    RouteRequest request, const server::ClientIdentity& caller) {
  ctx.gw.prepare_route(request, caller);
  auto screened = router->screen(request);
  if (!screened.ok()) return job.push(error_event(screened.status()));
  RoutePlan plan = std::move(screened).value();
  job.push(stage_event(
      "screen", plan,
      {{"task", request.task}, {"escalate_now", plan.escalate_now}, {"local_pending", plan.local_pending}}));
  if (plan.local_pending && !job.cancelled.load()) {
    router->run_local_tiers(request, plan);
    json extra = json::object();
    if (plan.d.reduction) extra["reduced_input"] = plan.d.reduction->text.substr(0, kMaxShownInputChars);
    extra["local_answer_text"] = plan.d.local_answer_text.substr(0, kMaxShownInputChars);
    job.push(stage_event("local", plan, std::move(extra)));
  }
  auto from = router->settle(request, plan);
  job.push(stage_event("validate", plan, {{"escalates", from.has_value()}}));
  if (from && !job.cancelled.load()) {
    job.push(stage_event("escalating", plan, {{"from_tier", *from}, {"packet", escalation_packet_for(request, plan)}}));
    router->escalate(request, plan, *from);
    job.push(stage_event("escalate", plan));
  }
  auto outcome = ctx.gw.finish_route(router, request, std::move(plan), caller);
  if (!outcome.ok()) return job.push(error_event(outcome.status()));
  json done = {{"stage", "decision"}, {"decision", decision_to_json(outcome->decision, ErrorDetail::kPublic)}};
  if (auto failed = server::decision_failure(outcome->decision)) done["error"] = server::make_api_error(*failed).body;
  job.push(server::sse_event("stage", done));
}

// The caller's per-client limits, as the transport applies them to /v1/* model calls.
std::optional<Reply> over_limit(server::ServerContext& ctx, const server::ClientIdentity& caller) {
  std::string limit;
  Status over = ctx.gw.quotas().admit(caller, &limit);
  if (over.ok()) return std::nullopt;
  ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "client_" + limit}});
  const auto wait_ms = over.retry_after() ? over.retry_after()->count() : 1000;
  return secured(server::error_reply(over, {}, static_cast<int>((wait_ms + 999) / 1000)));
}

// Writes a whole reply: a named value of the caller (g++ 12 destroys a class-type
// temporary of a co_await expression twice).
Task<std::pair<int, bool>> send_whole(server::ServerContext& ctx, server::Connection& conn, const server::Request& req,
                                      Reply& r) {
  const int code = r.status;
  co_return std::pair{code, co_await server::send(conn, req, std::move(r), ctx.closing())};
}

}  // namespace

Task<std::pair<int, bool>> playground_route(server::ServerContext& ctx, server::Connection& conn,
                                            const server::Request& req, const server::ClientIdentity& caller) {
  std::string param;
  auto in = parse_playground_route(req.body(), &param);
  Reply refusal;
  if (!in.ok()) {
    refusal = secured(server::error_reply(in.status(), param));
    co_return co_await send_whole(ctx, conn, req, refusal);
  }
  std::shared_ptr<Router> router = ctx.gw.router();  // this request's one snapshot
  RouteRequest rr;
  rr.task = in->task.empty() ? server::classify_task(router->config(), in->input) : in->task;
  if (!in->task.empty()) {
    if (Status s = server::admit_task(router->config(), rr.task); !s.ok()) {
      refusal = secured(server::error_reply(s, "task"));
      co_return co_await send_whole(ctx, conn, req, refusal);
    }
  }
  if (auto refused = over_limit(ctx, caller)) {
    refusal = std::move(*refused);
    co_return co_await send_whole(ctx, conn, req, refusal);
  }
  rr.input = std::move(in->input);
  rr.options.privacy = in->privacy;
  rr.request_id = new_request_id();

  auto job = server::make_job(co_await server::asio::this_coro::executor);
  const bool accepted =
      ctx.submit(job, [&ctx, job, router, rr, caller] { route_in_steps(ctx, *job, router, rr, caller); });
  if (!accepted) {
    refusal = secured(ctx.queue_full());
    co_return co_await send_whole(ctx, conn, req, refusal);
  }
  auto headers = security_headers();
  headers.emplace_back("x-ladder-request-id", rr.request_id);
  server::JobStream out(req.version());
  const std::string opening = server::sse_event("start", json{{"request_id", rr.request_id}, {"task", rr.task}});
  const server::PieceFormat as_is = [](const std::string& piece) { return piece; };
  co_await server::stream_job(conn, req, *job, out, headers, opening, as_is);
  if (!out.headers_sent) {  // the work threw before its first event
    refusal = secured(server::error_reply(job->crashed ? *job->crashed : server::internal_failure()));
    co_return co_await send_whole(ctx, conn, req, refusal);
  }
  if (!out.client_ok) co_return std::pair{200, false};
  if (job->crashed) {
    std::string last = error_event(*job->crashed);
    out.client_ok = co_await server::write_chunk(conn, std::move(last));
  }
  if (out.client_ok) out.client_ok = co_await server::end_chunks(conn);
  co_return std::pair{200, out.client_ok && req.keep_alive() && !ctx.closing()};
}

Task<Reply> playground_run(server::ServerContext& ctx, const server::Request& req,
                           const server::ClientIdentity& caller) {
  if (auto refused = over_limit(ctx, caller)) co_return std::move(*refused);
  Reply ran = co_await server::run_macro(ctx, req, caller);
  co_return secured(std::move(ran));
}

}  // namespace ladder::ui
