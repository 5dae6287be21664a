#include "router/health.h"

#include <algorithm>

namespace ladder {

HealthEvidence health_evidence(const Status& outcome) {
  switch (outcome.code()) {
    case ErrorCode::kOk:
    case ErrorCode::kRateLimited:       // it answered: busy, not down
    case ErrorCode::kUpstreamRejected:  // it answered: this request refused
      return HealthEvidence::kUp;
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kUpstreamError:
    case ErrorCode::kConnectionReset:
    case ErrorCode::kBadResponse:
    case ErrorCode::kNotConfigured:
      return HealthEvidence::kDown;
    default:
      return HealthEvidence::kNeutral;
  }
}

BackendHealth::BackendHealth(HealthConfig config, NowFn now)
    : config_(config), now_(now ? std::move(now) : NowFn([] { return Clock::now(); })) {}

BackendHealth::Admission BackendHealth::admit() {
  std::lock_guard lock(mu_);
  if (up_) return {};
  const auto now = now_();
  if (now >= next_trial_) {
    // Half-open: this call is the trial; the next one waits for another cool-down.
    next_trial_ = now + std::chrono::milliseconds(config_.cooldown_ms);
    return {};
  }
  auto left = std::chrono::ceil<std::chrono::milliseconds>(next_trial_ - now);
  return {false, std::max(left, std::chrono::milliseconds(1))};
}

BackendHealth::Change BackendHealth::record(const Status& outcome) {
  const HealthEvidence evidence = health_evidence(outcome);
  std::lock_guard lock(mu_);
  if (evidence == HealthEvidence::kUp) {
    failures_ = 0;
    if (up_) return Change::kNone;
    up_ = true;
    return Change::kMarkedUp;
  }
  if (evidence == HealthEvidence::kNeutral) return Change::kNone;
  ++failures_;
  last_failure_ = outcome.code();
  if (!up_) {
    next_trial_ = now_() + std::chrono::milliseconds(config_.cooldown_ms);  // a failed trial or probe
    return Change::kNone;
  }
  if (failures_ < config_.failures_to_mark_down) return Change::kNone;
  up_ = false;
  next_trial_ = now_() + std::chrono::milliseconds(config_.cooldown_ms);
  return Change::kMarkedDown;
}

bool BackendHealth::up() const {
  std::lock_guard lock(mu_);
  return up_;
}

int BackendHealth::consecutive_failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

ErrorCode BackendHealth::last_failure() const {
  std::lock_guard lock(mu_);
  return last_failure_;
}

}  // namespace ladder
