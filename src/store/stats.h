// What `ladder stats` and the web UI report over stored decisions: acceptance, escalations,
// failure reasons, reviewed defects, fallback latency, cost and saving (docs/store.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/config.h"
#include "store/record_store.h"

namespace ladder::store {

struct TaskCounts {
  std::int64_t decisions = 0;
  std::int64_t local = 0;
  std::int64_t escalated = 0;  // answered by (or sent to) a tier above the local ones
};

struct LatencySummary {
  std::int64_t count = 0;
  double mean = 0, p50 = 0, p95 = 0, max = 0;
};

struct StatsReport {
  std::int64_t decisions = 0;
  std::int64_t local = 0;
  std::optional<double> local_acceptance;  // local / decisions
  std::map<std::string, TaskCounts> by_task;
  std::map<std::string, std::int64_t> escalation_reasons;  // reason of each non-local decision
  std::map<std::string, std::int64_t> failure_reasons;     // reason of each failed validator
  std::int64_t reviewed_local = 0;
  std::int64_t defects_local = 0;
  std::optional<double> defect_rate;   // defects / reviewed, over local answers
  LatencySummary fallback_latency_ms;  // total_ms of decisions the frontier answered
  std::int64_t successful = 0;         // local not marked defect, or the frontier answered
  double cost = 0;                     // US dollars: priced tokens + local seconds
  double all_frontier_cost = 0;        // estimate: every decision priced at the frontier
  std::optional<double> cost_per_successful_task;
  double saving = 0;  // all_frontier_cost - cost
};

// count, mean, nearest-rank p50/p95 and max of the values (zeros when there are none).
LatencySummary summarize_latency(std::vector<double> values);

// Pure: the same decisions and costs always give the same report.
StatsReport compute_stats(const std::vector<StoredDecision>& decisions, const Config& config);
nlohmann::json stats_json(const StatsReport& report);

// "30s", "15m", "24h", "7d" -> seconds; kInvalidArgument otherwise.
Result<std::int64_t> parse_duration_seconds(const std::string& text);
// "2026-12-03T00:39:09.123Z" (the records' ts) -> seconds since the epoch; nullopt when
// unreadable.
std::optional<std::int64_t> epoch_seconds(const std::string& ts);
// RFC 3339 UTC with milliseconds (the records' ts format) for now minus `seconds`.
std::string rfc3339_seconds_ago(std::int64_t seconds);

}  // namespace ladder::store
