// /admin/*: the operator's switches, behind the admin token.
#include "server/endpoints.h"

#include <functional>
#include <optional>
#include <string>

#include <unistd.h>

#include "server/errors.h"
#include "server/openai_api.h"

namespace ladder::server {

using nlohmann::json;

Task<Reply> admin_endpoint(ServerContext& ctx, const Request& req, const std::string& path) {
  if (ctx.opt.admin_token.empty())
    co_return error_reply(
        make_error(ErrorCode::kPermissionDenied, "the admin API is off: start ladder serve with --admin-token-env"));
  auto presented = presented_key(sv(req[http::field::authorization]), sv(req["x-api-key"]));
  if (presented.empty() || !secrets_equal(presented, ctx.opt.admin_token)) {
    ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "unauthenticated"}});
    co_return error_reply(make_error(ErrorCode::kUnauthenticated, "missing or wrong admin token"));
  }
  const auto method = req.method();
  auto state = [&ctx] {
    AdminState a = ctx.gw.admin();
    const Config& c = ctx.gw.router()->config();
    json tasks = json::array();
    for (const auto& t : a.kill_tasks) tasks.push_back(t);
    json out = {{"kill_switch", {{"global", a.kill_all}, {"tasks", tasks}, {"policy", c.kill_switch}}},
                {"shadow", {{"override", a.shadow ? json(*a.shadow) : json()}, {"policy", c.shadow}}},
                {"policy", c.source_path},
                {"pid", static_cast<long long>(getpid())}};
    if (const auto* shared = ctx.gw.shared_state()) out["shared_state"] = shared->status();
    return out;
  };
  if (path == "/admin/state" && method == http::verb::get) co_return json_reply(200, state());
  if (path == "/admin/reload" && method == http::verb::post) {
    auto job = make_job(co_await asio::this_coro::executor);
    if (!ctx.submit(job, [&ctx, job] {
          Status s = ctx.gw.reload();
          job->value = s.ok() ? Result<json>(json{{"reloaded", true}}) : Result<json>(s);
        }))
      co_return ctx.queue_full();
    co_await job->wait_done();
    if (job->crashed) co_return error_reply(*job->crashed);
    if (!job->value->ok()) co_return error_reply(job->value->status());
    co_return json_reply(200, state());
  }
  const bool kill = path == "/admin/kill-switch" && method == http::verb::post;
  const bool shadow = path == "/admin/shadow" && method == http::verb::post;
  if (!kill && !shadow) co_return no_route(req, path);
  std::string param;
  std::function<Status()> change;
  if (kill) {
    auto k = parse_kill_switch_request(req.body(), &param);
    if (!k.ok()) co_return error_reply(k.status(), param);
    change = [&ctx, k = *k] { return ctx.gw.set_kill_switch(k.enabled, k.task); };
  } else {
    auto enabled = parse_shadow_request(req.body(), &param);
    if (!enabled.ok()) co_return error_reply(enabled.status(), param);
    change = [&ctx, enabled = *enabled] { return ctx.gw.set_shadow(enabled); };
  }
  Status changed;
  if (!ctx.gw.shared_state()) {
    changed = change();
  } else {  // a write to PostgreSQL: on a worker, not on the I/O thread
    auto job = make_job(co_await asio::this_coro::executor);
    if (!ctx.submit(job, [job, change] {
          Status s = change();
          job->value = s.ok() ? Result<json>(json::object()) : Result<json>(s);
        }))
      co_return ctx.queue_full();
    co_await job->wait_done();
    if (job->crashed) co_return error_reply(*job->crashed);
    if (!job->value->ok()) changed = job->value->status();
  }
  if (!changed.ok()) co_return error_reply(changed, changed.code() == ErrorCode::kNotFound ? "task" : "");
  co_return json_reply(200, state());
}

}  // namespace ladder::server
