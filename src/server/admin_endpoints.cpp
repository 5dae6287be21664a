// /admin/*: the operator's switches, behind the admin token.
#include "server/endpoints.h"

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
    return json{{"kill_switch", {{"global", a.kill_all}, {"tasks", tasks}, {"policy", c.kill_switch}}},
                {"shadow", {{"override", a.shadow ? json(*a.shadow) : json()}, {"policy", c.shadow}}},
                {"policy", c.source_path},
                {"pid", static_cast<long long>(getpid())}};
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
    if (Status s = ctx.gw.set_kill_switch(b["enabled"].get<bool>(), task); !s.ok()) co_return error_reply(s, "task");
  } else {
    if (!b.contains("enabled") || !(b["enabled"].is_boolean() || b["enabled"].is_null()))
      co_return error_reply(make_error(ErrorCode::kInvalidArgument, "enabled: expected a boolean or null"), "enabled");
    ctx.gw.set_shadow(b["enabled"].is_null() ? std::nullopt : std::optional<bool>(b["enabled"].get<bool>()));
  }
  co_return json_reply(200, state());
}

}  // namespace ladder::server
