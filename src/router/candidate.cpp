// Model rotation by evidence (docs/store.md): the candidate model of the policy's
// `rotation:` answers the same input in shadow after the live local tier. Its result is
// kept in the decision (and so in the audit record as `candidate`) and changes nothing else.
#include <algorithm>
#include <cstdint>
#include <exception>

#include "audit/redact.h"
#include "calibration/calibration_file.h"
#include "router/router.h"

namespace ladder {
namespace {

// FNV-1a: a stable hash of the request id for sampling (std::hash may differ by build).
std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Why the candidate gave nothing to judge: its failed call's whole error when it made one
// (the record keeps backends' words, as `tiers` does), else the reason and detail.
std::string failure_of(const Decision& d) {
  if (!d.tiers.empty() && !d.tiers.back().ok) return d.tiers.back().error.to_string();
  std::string out = d.reason ? std::string(reason_name(*d.reason)) : "no_answer";
  if (!d.reason_detail.empty()) out += ": " + d.reason_detail;
  return out;
}

}  // namespace

Status Router::build_candidate() {
  const RotationConfig& rotation = *config_->rotation;
  auto config = std::make_shared<Config>(*config_);
  config->rotation.reset();
  config->audit.replay_key_env.clear();
  config->shadow = false;
  TierConfig tier;
  tier.name = "candidate";
  tier.models = {rotation.candidate};
  tier.local = true;
  config->tiers = {tier};
  RouterOptions options;
  options.backend_factory = options_.backend_factory;
  options.skip_escalation_calls = true;
  options.evidence_before_model = false;  // the candidate answers every shadowed request
  // No audit sink: the live decision's record carries the candidate's result.
  auto built = Router::create(std::move(config), nullptr, std::move(options));
  if (!built.ok()) return built.status().with_message("rotation.candidate: " + built.status().message());
  candidate_ = std::move(built).value();
  const auto model = config_->models.find(rotation.candidate);
  if (model != config_->models.end() && model->second.backend == "embedded") {
    if (auto sha = calibration::file_sha256(model->second.model_path); sha.ok()) candidate_sha256_ = *sha;
  }
  return Status::ok_status();
}

bool Router::shadows(const RoutePlan& p) const {
  if (!candidate_ || !p.task) return false;
  const RotationConfig& rotation = *config_->rotation;
  if (!rotation.tasks.empty() &&
      std::find(rotation.tasks.begin(), rotation.tasks.end(), p.task->name) == rotation.tasks.end())
    return false;
  if (rotation.sample >= 1.0) return true;
  if (rotation.sample <= 0.0) return false;
  constexpr std::uint64_t kBuckets = 1000000;
  return static_cast<double>(stable_hash(p.d.request_id) % kBuckets) < rotation.sample * kBuckets;
}

CandidateResult Router::run_candidate(const RouteRequest& req, const std::string& request_id) {
  CandidateResult c;
  c.model = config_->rotation->candidate;
  RouteRequest shadow;
  shadow.task = req.task;
  shadow.input = req.input;
  shadow.request_id = request_id;
  shadow.options = req.options;
  try {
    auto plan = candidate_->screen(shadow);
    if (!plan.ok()) {
      c.error = plan.status().to_string();
      return c;
    }
    if (!plan->local_pending) {
      c.error = "not run: " + failure_of(plan->d);
      return c;
    }
    candidate_->run_local_tiers(shadow, *plan);
    const Decision& d = plan->d;
    for (const auto& t : d.tiers)
      if (t.ok) {
        c.latency_ms = t.latency_ms;
        break;
      }
    if (!d.local_ran) {
      c.error = failure_of(d);
      return c;
    }
    if (!d.local_json_valid) {  // garbage: nothing to compare with the live answer
      c.error = failure_of(d);
      return c;
    }
    c.sha256 = candidate_sha256_;
    c.label = d.label;
    c.answer_sha256 = sha256_hex(d.local_answer_text);
    c.confidence = d.confidence;
    c.would_accept = !plan->escalate_now;
    c.reason = d.reason;
  } catch (const std::exception& e) {  // a candidate must never take the live request down
    c = CandidateResult{};
    c.model = config_->rotation->candidate;
    c.error = std::string("internal: ") + e.what();
  }
  return c;
}

}  // namespace ladder
