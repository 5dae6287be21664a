#include "server/gateway.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "config/loader.h"
#include "server/errors.h"
#include "server/task_classifier.h"
#include "store/jsonl_sink.h"
#include "store/store.h"

namespace ladder::server {
namespace {

// Time spent in model calls: the local and escalation stages (calibration calls
// included), or the tiers' call latencies when larger.
double backend_ms_of(const Decision& d) {
  double tiers = 0.0, stages = 0.0;
  for (const auto& t : d.tiers) tiers += t.latency_ms;
  for (const auto& s : d.stages)
    if (s.stage == "local" || s.stage == "escalate") stages += s.ms;
  return std::max(tiers, stages);
}

std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::create(GatewayOptions options, MetricsRegistry& metrics) {
  std::unique_ptr<Gateway> g(new Gateway(std::move(options), metrics));
  auto router = g->build_router();
  if (!router.ok()) return router.status();
  g->router_.store(std::move(router).value());
  if (g->options_.health_interval.count() > 0) g->check_health();  // 0: every model counts as healthy
  if (g->options_.health_interval.count() > 0) g->health_thread_ = std::thread([gw = g.get()] { gw->health_loop(); });
  return g;
}

Gateway::~Gateway() {
  {
    std::lock_guard lock(health_mu_);
    stopping_ = true;
  }
  health_cv_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
}

Result<std::shared_ptr<Router>> Gateway::build_router() {
  auto config = load_policy_file(options_.policy_path);
  if (!config.ok()) return config.status();
  AuditConfig audit = (*config)->audit;
  if (!options_.audit_path.empty()) audit.jsonl_path = options_.audit_path;
  if (audit.jsonl_path.empty()) audit.jsonl_path = "ladder-audit.jsonl";
  auto sink = store::make_audit_sink(audit, (*config)->store);
  if (!sink.ok()) return sink.status();
  // Every backend must build: a policy that would serve with one missing (a typo in a
  // model path) is refused, at start and on reload.
  std::string failures;
  RouterOptions ro;
  ro.backend_factory = [this, &failures](const ModelConfig& m) {
    auto backend = backends_.get(m);
    if (!backend.ok())
      failures += (failures.empty() ? "" : "; ") + ("model '" + m.name + "': " + backend.status().message());
    return backend;
  };
  auto observed = observe_writes(std::move(sink).value(), [this](bool ok) {
    audit_failing_.store(!ok);
    if (!ok) metrics_.add("ladder_audit_write_failures_total", {});
  });
  auto router = Router::create(*config, std::move(observed), std::move(ro));
  if (!router.ok()) return router.status();
  if (!failures.empty())
    return make_error(ErrorCode::kConfigInvalid, "policy refused, a backend cannot be built: " + failures);
  return std::shared_ptr<Router>(std::move(router).value());
}

Status Gateway::reload() {
  std::lock_guard lock(reload_mu_);
  auto router = build_router();
  if (!router.ok()) {
    metrics_.add("ladder_policy_reloads_total", {{"outcome", "error"}});
    spdlog::error("policy reload failed, keeping the current policy: {}", router.status().to_string());
    return router.status();
  }
  router_.store(std::move(router).value());
  metrics_.add("ladder_policy_reloads_total", {{"outcome", "ok"}});
  spdlog::info("policy reloaded from {}", options_.policy_path);
  if (options_.health_interval.count() > 0) check_health();
  return {};
}

AdminState Gateway::admin() const {
  std::lock_guard lock(admin_mu_);
  return admin_;
}

Status Gateway::set_kill_switch(bool enabled, const std::optional<std::string>& task) {
  if (task && !router()->config().find_task(*task))
    return make_error(ErrorCode::kNotFound, "task: the policy has no task of that name");
  std::lock_guard lock(admin_mu_);
  if (!task) {
    admin_.kill_all = enabled;
    if (!enabled) admin_.kill_tasks.clear();
  } else if (enabled) {
    admin_.kill_tasks.insert(*task);
  } else {
    admin_.kill_tasks.erase(*task);
  }
  return {};
}

void Gateway::set_shadow(std::optional<bool> enabled) {
  std::lock_guard lock(admin_mu_);
  admin_.shadow = enabled;
}

Result<RoutedOutcome> Gateway::route(const std::shared_ptr<Router>& router, RouteRequest request,
                                     const ClientIdentity& client) {
  {
    std::lock_guard lock(admin_mu_);
    if (admin_.kill_all || admin_.kill_tasks.count(request.task)) request.options.force_frontier = true;
    if (admin_.shadow) request.shadow = admin_.shadow;
  }
  request.audit_fields = {{"client", client.name}, {"via", "server"}};
  auto decision = router->route(request);
  if (!decision.ok()) return decision.status();
  RoutedOutcome out{std::move(decision).value(), 0.0};
  out.backend_ms = backend_ms_of(out.decision);
  record_decision(out.decision);
  return out;
}

void Gateway::record_decision(const Decision& d) {
  const std::string reason = d.reason ? std::string(reason_name(*d.reason)) : "none";
  // Labels take the policy's task names only, so clients cannot add series.
  const std::string task = router()->config().find_task(d.task) ? d.task : "other";
  metrics_.add("ladder_decisions_total", {{"task", task}, {"route", d.route}, {"reason", reason}});
  if (d.local_ran) {
    metrics_.add("ladder_local_runs_total", {{"task", task}});
    if (d.route == "local" || (d.shadow && d.shadow_route == "local"))
      metrics_.add("ladder_local_accepts_total", {{"task", task}});
  }
  for (const auto& s : d.stages) metrics_.observe("ladder_stage_duration_seconds", {{"stage", s.stage}}, s.ms / 1000.0);
  for (const auto& t : d.tiers) {
    metrics_.observe("ladder_backend_duration_seconds", {{"model", t.model_name}}, t.latency_ms / 1000.0);
    if (t.ok) record_tokens(t.model_name, t.prompt_tokens, t.completion_tokens, t.cached_prompt_tokens);
  }
  if (d.frontier_error.rfind("mid_stream: ", 0) == 0)
    metrics_.add("ladder_stream_failures_total", {{"class", "mid_stream"}});
}

void Gateway::record_tokens(const std::string& model_name, int prompt, int completion, int cached) {
  metrics_.add("ladder_tokens_total", {{"model", model_name}, {"kind", "prompt"}}, prompt);
  metrics_.add("ladder_tokens_total", {{"model", model_name}, {"kind", "completion"}}, completion);
  if (cached) metrics_.add("ladder_tokens_total", {{"model", model_name}, {"kind", "cached"}}, cached);
  auto price = options_.prices.find(model_name);
  if (price != options_.prices.end())
    metrics_.add("ladder_cost_usd_total", {{"model", model_name}},
                 (prompt * price->second.prompt_per_mtok + completion * price->second.completion_per_mtok) / 1e6);
}

std::optional<std::string> Gateway::resolve_model(const Router& router, const std::string& name) {
  const Config& config = router.config();
  if (config.models.count(name)) return name;
  for (const auto& [key, m] : config.models)
    if (!m.model.empty() && m.model == name) return key;
  return std::nullopt;
}

Result<PassThroughOutcome> Gateway::pass_through(const std::shared_ptr<Router>& router, const std::string& model_name,
                                                 const GenerationRequest& request, const DeltaFn* on_delta,
                                                 const std::string& request_id, const ClientIdentity& client) {
  const auto t0 = std::chrono::steady_clock::now();
  auto result = router->generate_direct(model_name, request, on_delta);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json record = {{"request_id", request_id}, {"ts", now_iso8601()},   {"route", "pass_through"},
                           {"model_name", model_name}, {"client", client.name}, {"via", "server"},
                           {"ok", result.ok()},        {"latency_ms", ms}};
  if (result.ok()) {
    record["model"] = result->model;
    record["prompt_tokens"] = result->prompt_tokens;
    record["completion_tokens"] = result->completion_tokens;
    record_tokens(model_name, result->prompt_tokens, result->completion_tokens, result->cached_prompt_tokens);
  } else {
    record["error"] = result.status().to_string();
  }
  Status written = router->write_audit(record);
  if (!written.ok()) spdlog::error("audit write failed for {}: {}", request_id, written.to_string());
  metrics_.add("ladder_pass_through_total", {{"model", model_name}, {"outcome", result.ok() ? "ok" : "error"}});
  metrics_.observe("ladder_backend_duration_seconds", {{"model", model_name}}, ms / 1000.0);
  if (!result.ok()) return result.status();
  return PassThroughOutcome{std::move(result).value(), model_name};
}

Result<ChatTarget> select_target(const Router& router, const ChatCompletionRequest& chat) {
  ChatTarget target;
  std::optional<std::string> task = task_from_model(chat.model);
  if (chat.model == kAutoModel || task) {
    target.routed = true;
    target.input = routed_input(chat);
    target.task = task ? *task : chat.task ? *chat.task : classify_task(router.config(), target.input);
    return target;
  }
  auto m = Gateway::resolve_model(router, chat.model);
  if (!m)
    return make_error(ErrorCode::kNotFound,
                      "model '" + chat.model + "' is not served here (GET /v1/models lists them)");
  target.model_name = *m;
  return target;
}

std::optional<Status> decision_failure(const Decision& d) {
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

void Gateway::check_health() {
  std::shared_ptr<Router> router = router_.load();
  for (const auto& name : router->model_names()) {
    Status s = router->check_health(name);
    metrics_.set("ladder_backend_healthy", {{"model", name}}, s.ok() ? 1.0 : 0.0);
    if (!s.ok()) spdlog::warn("model '{}' failed its health check: {}", name, s.to_string());
  }
}

nlohmann::json Gateway::readiness() const {
  std::shared_ptr<Router> router = router_.load();
  nlohmann::json models = nlohmann::json::object();
  bool ready = true;
  for (const auto& name : router->model_names()) {
    nlohmann::json m = {{"healthy", router->healthy(name)}};
    auto err = router->backend_errors().find(name);
    if (err != router->backend_errors().end()) m["error"] = err->second.to_string();
    if (!m["healthy"].get<bool>()) ready = false;
    models[name] = m;
  }
  // The last audit write failed (full disk, unwritable file): not ready until one succeeds.
  const bool audit_ok = !audit_failing_.load();
  if (!audit_ok) ready = false;
  return {{"ready", ready}, {"models", models}, {"audit", {{"ok", audit_ok}}}};
}

void Gateway::health_loop() {
  std::unique_lock lock(health_mu_);
  while (!stopping_) {
    if (health_cv_.wait_for(lock, options_.health_interval, [this] { return stopping_; })) break;
    lock.unlock();
    check_health();
    lock.lock();
  }
}

}  // namespace ladder::server
