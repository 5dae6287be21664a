#include "server/run_api.h"

#include <chrono>

#include "macros/approval.h"
#include "macros/runner.h"
#include "router/decision_json.h"
#include "server/gateway.h"

namespace ladder::server {

using nlohmann::json;

namespace {

long long now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Result<std::string> optional_string(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return std::string();
  if (!body[key].is_string()) return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": expected a string");
  return body[key].get<std::string>();
}

Result<bool> optional_bool(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return false;
  if (!body[key].is_boolean())
    return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": expected true or false");
  return body[key].get<bool>();
}

}  // namespace

struct RunApi::Impl {
  Gateway& gateway;
  macros::Approvals approvals;
  macros::Runner runner;

  Impl(Gateway& g, const ladder::http::Client& upstream)
      : gateway(g),
        approvals(900, g.shared_state() ? g.shared_state()->approval_key() : std::string()),
        runner(std::make_shared<macros::NetworkTransport>(upstream), macros::NativeRegistry::with_builtins(),
               [this](const std::string& task, const std::string& input) -> Result<json> {
                 // Classify steps go through the current policy snapshot, routed and audited.
                 std::shared_ptr<Router> router = gateway.router();
                 RouteRequest req;
                 req.task = task;
                 req.input = input;
                 auto d = router->route(req);
                 if (!d.ok()) return d.status();
                 return classify_step_result(*d);
               }) {}
};

RunApi::RunApi(Gateway& gateway, const ladder::http::Client& upstream)
    : impl_(std::make_unique<Impl>(gateway, upstream)) {}
RunApi::~RunApi() = default;

Result<RunRequest> parse_run_request(const json& body) {
  for (const auto& [key, value] : body.items()) {
    if (key != "request" && key != "macro" && key != "args" && key != "task" && key != "dry_run" &&
        key != "approval_token" && key != "privacy")
      return make_error(ErrorCode::kInvalidArgument, "unknown field " + key);
  }
  auto request = optional_string(body, "request");
  auto macro = optional_string(body, "macro");
  auto task = optional_string(body, "task");
  auto token = optional_string(body, "approval_token");
  auto dry_run = optional_bool(body, "dry_run");
  auto privacy = optional_bool(body, "privacy");
  if (!request.ok()) return request.status();
  if (!macro.ok()) return macro.status();
  if (!task.ok()) return task.status();
  if (!task->empty()) {
    if (Status s = check_task_name(*task, "task", nullptr); !s.ok()) return s;
  }
  if (!token.ok()) return token.status();
  if (!dry_run.ok()) return dry_run.status();
  if (!privacy.ok()) return privacy.status();
  if (request->empty() == macro->empty())
    return make_error(ErrorCode::kInvalidArgument, "give either request (natural language) or macro (an id)");
  if (body.contains("args") && !body["args"].is_object())
    return make_error(ErrorCode::kInvalidArgument, "args: expected an object");
  if (!token->empty() && macro->empty())
    return make_error(ErrorCode::kInvalidArgument, "approval_token approves a named macro: give macro and args");
  RunRequest r;
  r.request = std::move(*request);
  r.macro = std::move(*macro);
  r.task = std::move(*task);
  r.approval_token = std::move(*token);
  r.dry_run = *dry_run;
  r.privacy = *privacy;
  r.args = body.value("args", json::object());
  return r;
}

Result<json> RunApi::handle(const json& body, const ClientIdentity& client) {
  auto run = parse_run_request(body);
  if (!run.ok()) return run.status();
  const RunRequest& r = *run;
  std::shared_ptr<Router> router = impl_->gateway.router();  // one snapshot for the whole run
  const Config& config = router->config();
  if (!r.task.empty()) {
    if (Status s = admit_task(config, r.task); !s.ok()) return s;
  }
  json out = json::object();
  std::string macro_id = r.macro;
  json args = r.args;
  std::string decision_id;
  if (macro_id.empty()) {
    const std::string route_task = macros::route_macro_task(config, r.task);
    if (route_task.empty()) return make_error(ErrorCode::kConfigInvalid, "the policy has no route_macro task");
    RouteRequest req;
    req.task = route_task;
    req.input = r.request;
    req.options.privacy = r.privacy;
    // Through the gateway like chat: kill switches, shadow, decision metrics, the
    // client's token and spend limits.
    auto routed = impl_->gateway.route(router, std::move(req), client);
    if (!routed.ok()) return routed.status();
    const Decision* d = &routed->decision;
    decision_id = d->request_id;
    out["decision"] = decision_to_json(*d, ErrorDetail::kPublic);
    if (auto choice = macros::chosen_macro(*d)) {
      macro_id = std::move(choice->macro);
      args = std::move(choice->args);
    } else {
      out["status"] = d->route == "refused" ? "refused" : "escalated";
      return out;
    }
  }
  macros::RunOptions options;
  options.dry_run = r.dry_run;
  options.request_id = decision_id;
  if (!r.approval_token.empty()) {
    if (!impl_->approvals.check(r.approval_token, macro_id, args, now_s()))
      return make_error(ErrorCode::kPermissionDenied,
                        "approval_token does not match this macro and these arguments, or has expired");
    options.approve = true;
  }
  macros::RunOutcome outcome = impl_->runner.run(config, macro_id, args, options);
  json record = macros::macro_audit_record(outcome, decision_id);
  record["client"] = client.name;
  // Under audit.on_failure: closed a run without its record is not answered as a success.
  if (Status written = router->write_audit(record); !written.ok()) return written;
  if (outcome.error && outcome.error->step.empty()) {
    const std::string& reason = outcome.error->reason;
    if (reason == "unknown_macro") return make_error(ErrorCode::kNotFound, reason + ": " + outcome.error->message);
    if (reason == "invalid_arguments" || reason == "macro_retired")
      return make_error(ErrorCode::kInvalidArgument, reason + ": " + outcome.error->message);
  }
  out["status"] = outcome.status;
  out["run"] = outcome.to_json();
  if (outcome.status == "approval_required")
    out["approval_token"] = impl_->approvals.issue(outcome.macro, outcome.args, now_s());
  return out;
}

}  // namespace ladder::server
