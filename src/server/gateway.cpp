#include "server/gateway.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>

#include "audit/record.h"
#include "backends/http/http_client.h"
#include "config/loader.h"
#include "router/decision_json.h"
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

// A tier's model whose API key variable is unset fails every call with not_configured:
// say so when the policy starts serving, not at the first escalation.
void warn_missing_api_keys(const Config& config) {
  std::set<std::string> seen;
  for (const auto& tier : config.tiers) {
    for (const auto& name : tier.models) {
      auto m = config.models.find(name);
      if (m == config.models.end() || m->second.api_key_env.empty() || !seen.insert(name).second) continue;
      const char* key = std::getenv(m->second.api_key_env.c_str());
      if (key == nullptr || *key == '\0')
        spdlog::warn(
            "model '{}' of tier '{}': environment variable {} (its api_key_env) is not set; its calls fail "
            "with not_configured (503) until it is",
            name, tier.name, m->second.api_key_env);
    }
  }
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
  warn_missing_api_keys(**config);
  AuditConfig audit = (*config)->audit;
  if (!options_.audit_path.empty()) audit.jsonl_path = options_.audit_path;
  if (audit.jsonl_path.empty()) audit.jsonl_path = "ladder-audit.jsonl";
  auto sink = store::make_audit_sink(audit, (*config)->store,
                                     [this] { metrics_.add("ladder_store_queue_overflows_total", {}); });
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
  // Real traffic moves a model's health as probes do; the gauge follows either.
  ro.on_health_change = [this](const std::string& model, bool up, const Status&) {
    metrics_.set("ladder_backend_healthy", {{"model", model}}, up ? 1.0 : 0.0);
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
  if (shared_)
    if (Status s = shared_->set_kill_switch(enabled, task); !s.ok()) return s;
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

Status Gateway::set_shadow(std::optional<bool> enabled) {
  if (shared_)
    if (Status s = shared_->set_shadow(enabled); !s.ok()) return s;
  std::lock_guard lock(admin_mu_);
  admin_.shadow = enabled;
  return {};
}

void Gateway::share_state(std::unique_ptr<store::SharedState> shared) {
  shared_ = std::move(shared);
  auto apply = [this](const store::SharedAdminState& state) {
    std::lock_guard lock(admin_mu_);
    admin_.kill_all = state.kill_all;
    admin_.kill_tasks = state.kill_tasks;
    admin_.shadow = state.shadow;
  };
  if (auto state = shared_->load_admin(); state.ok()) apply(*state);
  quotas_.share();
  metrics_.declare("ladder_shared_state_listener_up", MetricType::kGauge,
                   "1 while this replica listens for admin changes of the other replicas");
  metrics_.set("ladder_shared_state_listener_up", {}, 0);
  store::SharedState::Hooks hooks;
  hooks.on_admin = apply;
  hooks.on_listener = [this](bool up) { metrics_.set("ladder_shared_state_listener_up", {}, up ? 1 : 0); };
  hooks.take_quota_deltas = [this] { return quotas_.take_deltas(); };
  hooks.on_quota_totals = [this](store::QuotaTotals totals) { quotas_.set_others(std::move(totals)); };
  shared_->start(std::move(hooks));
}

void Gateway::prepare_route(RouteRequest& request, const ClientIdentity& client) const {
  {
    std::lock_guard lock(admin_mu_);
    if (admin_.kill_all || admin_.kill_tasks.count(request.task)) request.options.force_frontier = true;
    if (admin_.shadow) request.shadow = admin_.shadow;
  }
  if (!request.audit_fields.is_object()) request.audit_fields = nlohmann::json::object();
  request.audit_fields["client"] = client.name;
  request.audit_fields["via"] = "server";
}

Result<RoutedOutcome> Gateway::routed_outcome(Result<Decision> decision, const ClientIdentity& client) {
  if (!decision.ok()) return decision.status();
  RoutedOutcome out{std::move(decision).value(), 0.0};
  out.backend_ms = backend_ms_of(out.decision);
  record_decision(out.decision, &client);
  return out;
}

Result<RoutedOutcome> Gateway::finish_route(const std::shared_ptr<Router>& router, const RouteRequest& request,
                                            RoutePlan&& plan, const ClientIdentity& client) {
  return routed_outcome(router->finish(request, std::move(plan)), client);
}

void Gateway::finish_route_async(const std::shared_ptr<Router>& router, const RouteRequest& request, RoutePlan&& plan,
                                 const ClientIdentity& client, std::function<void(Result<RoutedOutcome>)> done) {
  router->finish_async(request, std::move(plan),
                       [this, client, done = std::move(done)](Result<Decision> decision) mutable {
                         done(routed_outcome(std::move(decision), client));
                       });
}

Result<RoutedOutcome> Gateway::route(const std::shared_ptr<Router>& router, RouteRequest request,
                                     const ClientIdentity& client) {
  prepare_route(request, client);
  auto plan = router->screen(request);
  if (!plan.ok()) return plan.status();
  router->run_local_tiers(request, *plan);
  if (auto from = router->settle(request, *plan)) router->escalate(request, *plan, *from);
  return finish_route(router, request, std::move(*plan), client);
}

void Gateway::record_decision(const Decision& d, const ClientIdentity* client) {
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
    if (t.ok) record_tokens(t.model_name, t.prompt_tokens, t.completion_tokens, t.cached_prompt_tokens, client);
  }
  if (d.frontier_mid_stream) metrics_.add("ladder_stream_failures_total", {{"class", "mid_stream"}});
}

void Gateway::record_tokens(const std::string& model_name, int prompt, int completion, int cached,
                            const ClientIdentity* client) {
  metrics_.add("ladder_tokens_total", {{"model", model_name}, {"kind", "prompt"}}, prompt);
  metrics_.add("ladder_tokens_total", {{"model", model_name}, {"kind", "completion"}}, completion);
  if (cached) metrics_.add("ladder_tokens_total", {{"model", model_name}, {"kind", "cached"}}, cached);
  double usd = 0.0;
  auto price = options_.prices.find(model_name);
  if (price != options_.prices.end()) {
    usd = (prompt * price->second.prompt_per_mtok + completion * price->second.completion_per_mtok) / 1e6;
    metrics_.add("ladder_cost_usd_total", {{"model", model_name}}, usd);
  }
  if (client) quotas_.record(*client, static_cast<long long>(prompt) + completion, usd);
}

std::optional<std::string> Gateway::resolve_model(const Router& router, const std::string& name) {
  const Config& config = router.config();
  if (config.models.count(name)) return name;
  for (const auto& [key, m] : config.models)
    if (!m.model.empty() && m.model == name) return key;
  return std::nullopt;
}

nlohmann::json Gateway::pass_through_record(const PassThroughCall& call, const ClientIdentity& client,
                                            const nlohmann::json& audit_fields, int cached_prompt_tokens,
                                            Status& failure) {
  if (call.outcome.ok()) {
    record_tokens(call.model_name, call.prompt_tokens, call.completion_tokens, cached_prompt_tokens, &client);
  } else {
    spdlog::warn("{}: model '{}' failed: {}", call.request_id, call.model_name, call.outcome.to_string());
  }
  nlohmann::json extra = audit_fields.is_object() ? audit_fields : nlohmann::json::object();
  extra["client"] = client.name;
  extra["via"] = "server";
  metrics_.add("ladder_pass_through_total",
               {{"model", call.model_name}, {"outcome", call.outcome.ok() ? "ok" : "error"}});
  metrics_.observe("ladder_backend_duration_seconds", {{"model", call.model_name}}, call.latency_ms / 1000.0);
  // The client reads the code and ladder's words; the backend's message (its URL) stays
  // in the log and the audit record.
  failure = call.outcome.ok() ? Status() : call.outcome.with_message(public_call_error(call.model_name, call.outcome));
  return make_pass_through_record(call, extra);
}

Status Gateway::audit_pass_through(const std::shared_ptr<Router>& router, const PassThroughCall& call,
                                   const ClientIdentity& client, const nlohmann::json& audit_fields,
                                   int cached_prompt_tokens) {
  Status failure;
  nlohmann::json record = pass_through_record(call, client, audit_fields, cached_prompt_tokens, failure);
  Status written = router->write_audit(record);
  if (!failure.ok()) return failure;
  return written;  // not ok only under audit.on_failure: closed
}

PassThroughCall Gateway::direct_call(const std::string& model_name, const std::string& request_id,
                                     std::chrono::steady_clock::time_point t0, const Result<GenerationResult>& result) {
  PassThroughCall call;
  call.request_id = request_id;
  call.model_name = model_name;
  call.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  call.outcome = result.status();
  if (result.ok()) {
    call.model = result->model;
    call.prompt_tokens = result->prompt_tokens;
    call.completion_tokens = result->completion_tokens;
  }
  return call;
}

Result<PassThroughOutcome> Gateway::pass_through(const std::shared_ptr<Router>& router, const std::string& model_name,
                                                 const GenerationRequest& request, const DeltaFn* on_delta,
                                                 const std::string& request_id, const ClientIdentity& client,
                                                 const nlohmann::json& audit_fields) {
  const auto t0 = std::chrono::steady_clock::now();
  auto result = router->generate_direct(model_name, request, on_delta);
  const PassThroughCall call = direct_call(model_name, request_id, t0, result);
  if (Status s = audit_pass_through(router, call, client, audit_fields, result.ok() ? result->cached_prompt_tokens : 0);
      !s.ok())
    return s;
  return PassThroughOutcome{std::move(result).value(), model_name};
}

namespace {

// What an audited call on the loop does last (pass_through_async, relay_async): the
// record goes to the store without waiting (write_async); the outcome (the call's
// failure, else the store's under on_failure: closed, else `result`) comes back to the
// loop, so that the last reference to the router never goes on the store's writer.
template <typename T>
void audit_then_answer(const std::shared_ptr<Router>& router, nlohmann::json record, Status failure, Result<T> result,
                       const ladder::http::Client& loop, std::function<void(Result<T>)> done) {
  router->write_audit_async(std::move(record), [keep = router, failure = std::move(failure), result = std::move(result),
                                                &loop, done](Status written) mutable {
    Result<T> out = !failure.ok() ? Result<T>(failure) : !written.ok() ? Result<T>(written) : std::move(result);
    loop.after(std::chrono::milliseconds(0), [keep = std::move(keep), out = std::move(out),
                                              done = std::move(done)]() mutable { done(std::move(out)); });
  });
}

}  // namespace

bool Gateway::pass_through_async(const std::shared_ptr<Router>& router, const std::string& model_name,
                                 const GenerationRequest& request, DeltaFn on_delta, const std::string& request_id,
                                 const ClientIdentity& client, const nlohmann::json& audit_fields,
                                 const ladder::http::Client& loop,
                                 std::function<void(Result<PassThroughOutcome>)> done) {
  const auto t0 = std::chrono::steady_clock::now();
  // Runs on the loop: nothing may escape it (the record's building could throw).
  auto finish = [this, router, model_name, request_id, client, audit_fields, t0, &loop,
                 done = std::move(done)](Result<GenerationResult> result) mutable {
    try {
      const PassThroughCall call = direct_call(model_name, request_id, t0, result);
      Status failure;
      nlohmann::json record =
          pass_through_record(call, client, audit_fields, result.ok() ? result->cached_prompt_tokens : 0, failure);
      Result<PassThroughOutcome> outcome =
          result.ok() ? Result<PassThroughOutcome>(PassThroughOutcome{std::move(result).value(), model_name})
                      : Result<PassThroughOutcome>(result.status());
      audit_then_answer(router, std::move(record), std::move(failure), std::move(outcome), loop, std::move(done));
    } catch (const std::exception& e) {
      spdlog::error("a pass-through request's completion threw: {}", e.what());
      done(make_error(ErrorCode::kInternal, "ladder failed while finishing this request"));
    }
  };
  return router->generate_direct_async(model_name, request, loop, std::move(on_delta), std::move(finish));
}

namespace {

// What relay() and relay_async() share: a relayed call's audit record.
struct RelayAudit {
  explicit RelayAudit(const ForwardRequest& request) : stream(request.streams()) {}
  bool stream;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  bool sent = false;  // a byte of the upstream's stream went to the client
};

}  // namespace

PassThroughCall Gateway::relayed_call(const std::string& model_name, bool stream, const std::string& request_id,
                                      std::chrono::steady_clock::time_point t0, bool sent,
                                      const Result<ForwardReply>& result, nlohmann::json& fields) {
  PassThroughCall call;
  call.request_id = request_id;
  call.model_name = model_name;
  call.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  call.outcome = result.status();
  if (!fields.is_object()) fields = nlohmann::json::object();
  fields["relayed"] = true;
  fields["stream"] = stream;
  if (result.ok()) {
    call.model = result->model;
    call.prompt_tokens = result->prompt_tokens;
    call.completion_tokens = result->completion_tokens;
    fields["upstream_status"] = result->status;
    fields["tool_calls"] = result->tool_calls;
    if (!result->finish_reason.empty()) fields["finish_reason"] = result->finish_reason;
    fields["delivered"] = !result->cancelled;
    if (result->cancelled) fields["cancelled_by_client"] = true;
  } else {
    fields["delivered"] = false;
    if (sent) fields["mid_stream"] = true;
  }
  return call;
}

Result<ForwardReply> Gateway::relay(const std::shared_ptr<Router>& router, const std::string& model_name,
                                    const ForwardRequest& request, const ChunkFn& on_chunk,
                                    const std::string& request_id, const ClientIdentity& client,
                                    const nlohmann::json& audit_fields) {
  RelayAudit audit(request);
  auto result = router->forward_direct(model_name, request, [&](std::string_view bytes) {
    audit.sent = true;
    return on_chunk(bytes);
  });
  nlohmann::json fields = audit_fields;
  PassThroughCall call = relayed_call(model_name, audit.stream, request_id, audit.t0, audit.sent, result, fields);
  if (Status s = audit_pass_through(router, call, client, fields); !s.ok()) return s;
  return result;
}

bool Gateway::relay_async(const std::shared_ptr<Router>& router, const std::string& model_name,
                          const ForwardRequest& request, ChunkFn on_chunk, const std::string& request_id,
                          const ClientIdentity& client, const nlohmann::json& audit_fields,
                          const ladder::http::Client& loop, ForwardDoneFn done) {
  auto audit = std::make_shared<RelayAudit>(request);
  auto counted = [audit, on_chunk = std::move(on_chunk)](std::string_view bytes) {
    audit->sent = true;
    return on_chunk(bytes);
  };
  // Runs on the loop: nothing may escape it (the record's building could throw). The
  // record goes to the store without waiting (write_async); the reply comes back to the
  // loop, so that the last reference to the router never goes on the store's writer.
  auto finish = [this, router, model_name, request_id, client, audit_fields, audit, &loop,
                 done = std::move(done)](Result<ForwardReply> result) mutable {
    try {
      nlohmann::json fields = audit_fields;
      PassThroughCall call =
          relayed_call(model_name, audit->stream, request_id, audit->t0, audit->sent, result, fields);
      Status failure;
      nlohmann::json record = pass_through_record(call, client, fields, 0, failure);
      audit_then_answer(router, std::move(record), std::move(failure), std::move(result), loop,
                        ForwardDoneFn(std::move(done)));
    } catch (const std::exception& e) {
      spdlog::error("a relayed request's completion threw: {}", e.what());
      done(make_error(ErrorCode::kInternal, "ladder failed while finishing this request"));
    }
  };
  return router->forward_direct_async(model_name, request, loop, std::move(counted), std::move(finish));
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
  const std::string reason = d.reason ? std::string(reason_name(*d.reason)) : "";
  if (d.route == "refused")
    return make_error(ErrorCode::kPermissionDenied,
                      "privacy forbids the escalation this request needs (" + reason + "): " + d.reason_detail);
  if (d.route == "frontier" && !d.frontier_ok) {
    // The typed failure of the last tier tried: its code (429 stays 429), its retry-after,
    // and words for the client in place of the backend's message.
    const Status failure =
        d.frontier_error.ok() ? make_error(ErrorCode::kUnavailable, "no tier above the local one") : d.frontier_error;
    const TierAttempt* failed = last_failed_escalation(d);
    return failure.with_message("escalated (" + reason + ") but no tier answered: " +
                                (failed ? public_attempt_error(*failed) : failure.message()));
  }
  return std::nullopt;
}

void Gateway::check_health() {
  std::shared_ptr<Router> router = router_.load();
  for (const auto& name : router->model_names()) {
    Status s = router->check_health(name);
    metrics_.set("ladder_backend_healthy", {{"model", name}}, router->healthy(name) ? 1.0 : 0.0);
    if (!s.ok()) spdlog::warn("model '{}' failed its health check: {}", name, s.to_string());
  }
}

nlohmann::json Gateway::readiness() const {
  std::shared_ptr<Router> router = router_.load();
  const Config& config = router->config();
  nlohmann::json models = nlohmann::json::object();
  nlohmann::json down = nlohmann::json::array();
  // Ready when ladder can answer on its own: one model of the local tier up, and the
  // audit (its store) writable. A frontier outage degrades escalations but must not take
  // every replica out of a load balancer, so it shows in the body, not the status.
  bool local_up = false;
  for (std::size_t tier = 0; tier < config.tiers.size(); ++tier) {
    for (const auto& name : config.tiers[tier].models) {
      if (models.contains(name)) continue;
      const bool healthy = router->healthy(name);
      nlohmann::json m = {{"tier", config.tiers[tier].name}, {"required", tier == 0}, {"healthy", healthy}};
      if (!healthy) {
        // A code, not the backend's message (hosts, paths): the server log has that.
        auto built = router->backend_errors().find(name);
        m["error"] = std::string(
            error_name(built != router->backend_errors().end() ? built->second.code() : router->last_failure(name)));
        down.push_back(name);
      }
      if (tier == 0 && healthy) local_up = true;
      models[name] = std::move(m);
    }
  }
  // The last audit write failed (full disk, unwritable file): not ready until one succeeds.
  const bool audit_ok = !audit_failing_.load();
  nlohmann::json out = {
      {"ready", local_up && audit_ok}, {"models", models}, {"down", down}, {"audit", {{"ok", audit_ok}}}};
  // A replica whose shared-state listener is down still serves, on the last admin state.
  if (shared_) out["shared_state"] = shared_->status();
  return out;
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
