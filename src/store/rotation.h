// Model rotation by evidence: a candidate model's shadow results (the audit record's
// `candidate` object) compared with the live decisions, per task (docs/store.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/record_store.h"
#include "store/stats.h"

namespace ladder::store {

struct RotationTask {
  std::string candidate_model;  // model name of the last shadowed decision
  std::int64_t shadowed = 0;    // decisions with a candidate result
  std::int64_t agreed = 0;      // same label (or same answer sha256) as the live model
  std::optional<double> agreement;
  std::int64_t live_accepted = 0, candidate_accepted = 0;
  std::optional<double> live_acceptance, candidate_acceptance;
  // The candidate would accept where the review says defect, or where the live decision
  // escalated for a hard reason (a hard stop).
  std::int64_t would_be_false_accepts = 0;
  LatencySummary live_latency_ms, candidate_latency_ms;
};

// Pure; decisions without a `candidate` object are skipped.
std::map<std::string, RotationTask> compute_rotation(const std::vector<StoredDecision>& decisions);
nlohmann::json rotation_json(const std::map<std::string, RotationTask>& report);

}  // namespace ladder::store
