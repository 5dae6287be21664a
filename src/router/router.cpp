#include "router/router.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include <spdlog/spdlog.h>

#include "audit/record.h"
#include "audit/redact.h"
#include "backends/factory.h"
#include "ladder/utf8.h"
#include "policy/evidence.h"
#include "policy/hard_stops.h"
#include "router/decision_json.h"
#include "router/fitted_calibration.h"
#include "router/router_internal.h"

namespace ladder {
namespace {

using Clock = std::chrono::steady_clock;

class DroppingSink : public AuditSink {
 public:
  Status write(const nlohmann::json&) override { return {}; }
  Status flush() override { return {}; }
};

}  // namespace

Router::~Router() = default;

Result<std::unique_ptr<Router>> Router::create(ConfigPtr config, std::unique_ptr<AuditSink> audit,
                                               RouterOptions options) {
  if (!config) return make_error(ErrorCode::kInvalidArgument, "router needs a config");
  if (config->tiers.empty()) return make_error(ErrorCode::kConfigInvalid, "policy has no tiers");
  std::unique_ptr<Router> router(new Router());
  router->config_ = std::move(config);
  router->audit_ = audit ? std::move(audit) : std::make_unique<DroppingSink>();
  router->options_ = std::move(options);
  if (!router->options_.backend_factory) router->options_.backend_factory = make_backend;

  auto scanner = HardStopScanner::create(router->config_->hard_stops);
  if (!scanner.ok()) return scanner.status();
  router->scanner_ = std::move(scanner).value();
  for (const auto& [name, task] : router->config_->tasks) {
    if (task.evidence.empty()) continue;
    auto evidence = EvidenceScanner::create(task);
    if (!evidence.ok()) return evidence.status();
    router->evidence_.emplace(name, std::move(evidence).value());
  }
  while (router->local_tiers_ < router->config_->tiers.size() && router->config_->tiers[router->local_tiers_].local)
    ++router->local_tiers_;
  router->local_tiers_ = std::max<std::size_t>(router->local_tiers_, 1);
  auto fitted = load_fitted_calibrations(*router->config_);
  if (!fitted.ok()) return fitted.status();
  router->fitted_ = std::move(fitted).value();
  if (const std::string& env = router->config_->audit.replay_key_env; !env.empty()) {
    // Start-up fails rather than run without sealing what the policy says to seal.
    auto key = audit::seal_key_from_env(env);
    if (!key.ok()) return make_error(ErrorCode::kConfigInvalid, "audit.replay.key_env: " + key.status().message());
    router->replay_key_ = std::move(key).value();
  }
  if (router->config_->rotation)
    if (Status built = router->build_candidate(); !built.ok()) return built;

  for (const auto& tier : router->config_->tiers) {
    for (const auto& name : tier.models) {
      if (router->backends_.count(name) || router->backend_errors_.count(name)) continue;
      auto it = router->config_->models.find(name);
      if (it == router->config_->models.end()) {
        router->backend_errors_[name] = make_error(ErrorCode::kConfigInvalid, "no model '" + name + "'");
        continue;
      }
      auto backend = router->options_.backend_factory(it->second);
      if (backend.ok()) {
        router->backends_[name] = std::move(backend).value();
        router->health_[name] = std::make_unique<BackendHealth>(router->config_->health);
        // A slow in-process model is busy, not gone: only its probe (model loaded) counts.
        if (it->second.backend == "embedded") router->probe_only_.insert(name);
      } else {
        spdlog::warn("model '{}' unavailable: {}", name, backend.status().to_string());
        router->backend_errors_[name] = backend.status();
      }
    }
  }
  // Whether every built model of tiers [from, to) passes `pred`.
  auto every_built = [&r = *router](std::size_t from, std::size_t to, auto pred) {
    for (std::size_t tier = from; tier < to; ++tier)
      for (const auto& name : r.config_->tiers[tier].models)
        if (auto built = r.backends_.find(name); built != r.backends_.end() && !pred(*built->second)) return false;
    return true;
  };
  router->escalates_async_ = every_built(router->local_tiers_, router->config_->tiers.size(),
                                         [](const Backend& b) { return b.generates_async(); });
  // A raw-prompt model's content-free calibration calls block, and so does a candidate's
  // shadow run: those keep the local tiers off the loop.
  router->locals_async_ = !router->candidate_ && every_built(0, router->local_tiers_, [](const Backend& b) {
    return b.generates_async() && !b.continues_raw_prompt();
  });
  return router;
}

int Router::local_parallelism() const {
  int n = 0;
  for (const auto& name : config_->tiers[0].models) {
    auto it = backends_.find(name);
    if (it == backends_.end()) continue;
    const int p = std::max(1, it->second->parallel_calls());
    n = n == 0 ? p : std::min(n, p);
  }
  return std::max(1, n);
}

std::vector<std::string> Router::model_names() const {
  std::vector<std::string> names;
  for (const auto& tier : config_->tiers)
    for (const auto& name : tier.models)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

Status Router::check_health(const std::string& model_name) {
  auto bit = backends_.find(model_name);
  if (bit == backends_.end()) {
    auto eit = backend_errors_.find(model_name);
    return eit != backend_errors_.end() ? eit->second
                                        : make_error(ErrorCode::kNotFound, "no model '" + model_name + "'");
  }
  Status status = bit->second->health();
  record_health(model_name, status, /*probe=*/true);
  return status;
}

void Router::record_health(const std::string& model_name, const Status& outcome, bool probe) {
  auto it = health_.find(model_name);
  if (it == health_.end() || (!probe && probe_only_.count(model_name))) return;
  const BackendHealth::Change change = it->second->record(outcome);
  if (change == BackendHealth::Change::kNone) return;
  const bool up = change == BackendHealth::Change::kMarkedUp;
  if (up) {
    spdlog::info("model '{}' is up again", model_name);
  } else {
    spdlog::warn("model '{}' marked down after {} failures in a row; last: {}", model_name,
                 it->second->consecutive_failures(), outcome.to_string());
  }
  if (options_.on_health_change) options_.on_health_change(model_name, up, outcome);
}

bool Router::healthy(const std::string& model_name) const {
  auto it = health_.find(model_name);
  return it != health_.end() && it->second->up();
}

ErrorCode Router::last_failure(const std::string& model_name) const {
  auto it = health_.find(model_name);
  return it == health_.end() ? ErrorCode::kOk : it->second->last_failure();
}

Status Router::admit(const std::string& model_name, AttemptSkip& skip) {
  skip = AttemptSkip::kNone;
  if (!backends_.count(model_name)) {
    skip = AttemptSkip::kNotBuilt;
    auto eit = backend_errors_.find(model_name);
    return eit != backend_errors_.end() ? eit->second
                                        : make_error(ErrorCode::kUnavailable, "model '" + model_name + "' not built");
  }
  BackendHealth& health = *health_.at(model_name);
  const BackendHealth::Admission admission = health.admit();
  if (admission.allowed) return {};
  skip = AttemptSkip::kMarkedDown;
  Status refused =
      make_error(ErrorCode::kUnavailable,
                 "model '" + model_name + "' is marked down after " + std::to_string(health.consecutive_failures()) +
                     " failures in a row (last: " + std::string(error_name(health.last_failure())) +
                     "); next trial in " + std::to_string(admission.retry_in.count()) + " ms");
  refused.set_retry_after(admission.retry_in);
  return refused;
}

Status Router::audit_outcome(const std::string& request_id, const Status& written) const {
  if (written.ok()) return written;
  spdlog::error("audit write failed for {}: {}", request_id, written.to_string());
  if (!config_->audit.fail_closed) return {};
  return make_error(ErrorCode::kAuditUnavailable,
                    "the audit record of this request could not be written, and the policy answers no request "
                    "without one (audit.on_failure: closed)");
}

namespace {
std::string record_id(const nlohmann::json& record) {
  const auto id = record.find("request_id");
  return id != record.end() && id->is_string() ? id->get<std::string>() : "";
}
}  // namespace

Status Router::write_audit(const nlohmann::json& record) {
  return audit_outcome(record_id(record), audit_->write(record));
}

void Router::write_audit_async(nlohmann::json record, std::function<void(Status)> done) {
  std::string id = record_id(record);
  audit_->write_async(std::move(record), [this, id = std::move(id), done = std::move(done)](Status written) {
    done(audit_outcome(id, written));
  });
}

Backend* Router::begin_attempt(std::size_t tier_index, const std::string& name, TierAttempt& attempt, Status& refused) {
  attempt = TierAttempt{};
  attempt.tier = static_cast<int>(tier_index);
  attempt.tier_name = config_->tiers.at(tier_index).name;
  attempt.model_name = name;
  auto mit = config_->models.find(name);
  if (mit != config_->models.end()) attempt.backend = mit->second.backend;
  refused = admit(name, attempt.skipped);
  if (!refused.ok()) {
    attempt.error = refused;
    return nullptr;
  }
  return backends_.at(name).get();
}

void Router::end_attempt(const std::string& request_id, TierAttempt& attempt, const Backend& backend,
                         Clock::time_point t0, const Result<GenerationResult>& result) {
  attempt.latency_ms = ms_since(t0);
  attempt.model = backend.model();
  record_health(attempt.model_name, result.status(), /*probe=*/false);
  if (!result.ok()) {
    // The whole message (URLs, the upstream's words) goes to the log and the audit
    // record; clients read public_attempt_error().
    spdlog::warn("{}: model '{}' of tier '{}' failed: {}", request_id, attempt.model_name, attempt.tier_name,
                 result.status().to_string());
    attempt.error = result.status();
    return;
  }
  attempt.ok = true;
  attempt.attempts = result->attempts;
  attempt.prompt_tokens = result->prompt_tokens;
  attempt.completion_tokens = result->completion_tokens;
  attempt.cached_prompt_tokens = result->cached_prompt_tokens;
  if (!result->model.empty()) attempt.model = result->model;
}

}  // namespace ladder
