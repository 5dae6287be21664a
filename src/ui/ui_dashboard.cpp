// The dashboard's numbers: the six metrics of `ladder stats` in total and per time
// bucket, escalations by reason per task, latency per stage, the reliability diagram
// over reviewed local answers, and argument drift. Pure.
#include <algorithm>
#include <map>
#include <vector>

#include "calibration/metrics.h"
#include "store/drift.h"
#include "store/record_fields.h"
#include "store/stats.h"
#include "ui/ui_api.h"

namespace ladder::ui {

using nlohmann::json;

namespace {

constexpr std::int64_t kMaxBuckets = 500;

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// One bucket's point: the six metrics over its decisions (null rates when it has none).
json series_point(std::int64_t start, const std::vector<store::StoredDecision>& decisions, const Config& config) {
  const store::StatsReport r = store::compute_stats(decisions, config);
  json escalation = json::object();
  for (const auto& [task, t] : r.by_task)
    escalation[task] = t.decisions ? static_cast<double>(t.escalated) / static_cast<double>(t.decisions) : 0.0;
  const bool any = r.decisions > 0;
  return {{"start", start},  // seconds since the epoch
          {"decisions", r.decisions},
          {"local_acceptance", opt(r.local_acceptance)},
          {"escalation_rate", escalation},
          {"failure_reasons", r.failure_reasons},
          {"defect_rate", opt(r.defect_rate)},
          {"reviewed_local", r.reviewed_local},
          {"fallback_p50_ms", r.fallback_latency_ms.count ? json(r.fallback_latency_ms.p50) : json(nullptr)},
          {"fallback_p95_ms", r.fallback_latency_ms.count ? json(r.fallback_latency_ms.p95) : json(nullptr)},
          {"cost", any ? json(r.cost) : json(nullptr)},
          {"all_frontier_cost", any ? json(r.all_frontier_cost) : json(nullptr)},
          {"cost_per_successful_task", opt(r.cost_per_successful_task)},
          {"saving", any ? json(r.saving) : json(nullptr)}};
}

json stage_latency(const std::vector<store::StoredDecision>& decisions) {
  std::map<std::string, std::vector<double>> by_stage;
  for (const auto& d : decisions) {
    auto stages = d.record.find("stages");
    if (stages == d.record.end() || !stages->is_object()) continue;
    for (const auto& [stage, ms] : stages->items())
      if (ms.is_number()) by_stage[stage].push_back(ms.get<double>());
  }
  json out = json::object();
  for (auto& [stage, values] : by_stage) {
    const store::LatencySummary s = store::summarize_latency(std::move(values));
    out[stage] = {{"count", s.count}, {"mean", s.mean}, {"p50", s.p50}, {"p95", s.p95}, {"max", s.max}};
  }
  return out;
}

json escalations_by_task(const std::vector<store::StoredDecision>& decisions) {
  json out = json::object();
  for (const auto& d : decisions) {
    if (store::string_field(d.record, "route") == "local") continue;
    const std::string reason = store::string_field(d.record, "reason");
    json& task = out[store::string_field(d.record, "task")];
    if (!task.is_object()) task = json::object();
    const std::string key = reason.empty() ? "none" : reason;
    task[key] = task.value(key, 0) + 1;
  }
  return out;
}

// Confidence against accuracy: each reviewed local answer with a confidence is a sample,
// right when the review accepted it.
json reliability_json(const std::vector<store::StoredDecision>& decisions) {
  std::vector<calibration::Sample> samples;
  for (const auto& d : decisions) {
    if (d.review.empty() || store::string_field(d.record, "route") != "local") continue;
    auto c = d.record.find("confidence");
    if (c == d.record.end() || !c->is_number()) continue;
    samples.push_back({std::clamp(c->get<double>(), 0.0, 1.0), d.review == "accept"});
  }
  const calibration::Reliability rel = calibration::reliability(samples, 10);
  json bins = json::array();
  for (const auto& b : rel.bins)
    bins.push_back({{"lo", b.lo},
                    {"hi", b.hi},
                    {"n", b.n},
                    {"mean_confidence", b.n ? json(b.mean_confidence) : json(nullptr)},
                    {"accuracy", b.n ? json(b.accuracy) : json(nullptr)}});
  return {{"n", rel.n}, {"ece", rel.ece}, {"brier", rel.brier}, {"bins", bins}};
}

}  // namespace

Result<DashboardQuery> parse_dashboard_query(const std::map<std::string, std::string>& query, const Config& config,
                                             std::string* param) {
  DashboardQuery q;
  for (const auto& [key, value] : query) {
    if (param) *param = key.substr(0, 64);
    if (key != "since" && key != "task" && key != "bucket")
      return make_error(ErrorCode::kInvalidArgument, "unknown query parameter '" + key.substr(0, 64) + "'");
    if (value.empty()) continue;
    if (key == "task") {
      if (!config.find_task(value))
        return make_error(ErrorCode::kNotFound, "task: no task '" + value + "' in the policy");
      q.task = value;
      continue;
    }
    auto seconds = store::parse_duration_seconds(value);
    if (!seconds.ok() || *seconds <= 0)
      return make_error(ErrorCode::kInvalidArgument, key + ": expected a duration like 90s, 30m, 24h or 7d");
    (key == "since" ? q.since_seconds : q.bucket_seconds) = *seconds;
  }
  if (q.bucket_seconds == 0) q.bucket_seconds = std::max<std::int64_t>(60, q.since_seconds / 24);
  if (q.since_seconds / q.bucket_seconds > kMaxBuckets) {
    if (param) *param = "bucket";
    return make_error(ErrorCode::kInvalidArgument, "bucket: at most 500 buckets in the time range");
  }
  if (param) param->clear();
  return q;
}

json dashboard_json(const std::vector<store::StoredDecision>& decisions, const Config& config, const DashboardQuery& q,
                    std::int64_t now) {
  const std::int64_t width = std::max<std::int64_t>(q.bucket_seconds, 1);
  const std::int64_t from = now - q.since_seconds;
  const std::int64_t first = from >= 0 ? from / width : (from - width + 1) / width;
  const std::int64_t last = now / width;
  std::vector<store::StoredDecision> routed;
  std::map<std::int64_t, std::vector<store::StoredDecision>> buckets;
  for (const auto& d : decisions) {
    if (!store::is_routing_decision(d.record)) continue;
    if (!q.task.empty() && store::string_field(d.record, "task") != q.task) continue;
    auto secs = store::epoch_seconds(store::string_field(d.record, "ts"));
    if (!secs || *secs < from) continue;
    routed.push_back(d);
    buckets[std::clamp(*secs / width, first, last)].push_back(d);
  }
  json series = json::array();
  for (std::int64_t b = first; b <= last; ++b) {
    auto it = buckets.find(b);
    json point =
        series_point(b * width, it == buckets.end() ? std::vector<store::StoredDecision>{} : it->second, config);
    series.push_back(std::move(point));
  }
  store::DriftOptions drift;
  drift.window_seconds = width;
  json totals = store::stats_json(store::compute_stats(routed, config));
  return {{"since_seconds", q.since_seconds},
          {"bucket_seconds", width},
          {"now", now},
          {"totals", totals},
          {"series", series},
          {"escalations_by_task", escalations_by_task(routed)},
          {"stages", stage_latency(routed)},
          {"reliability", reliability_json(routed)},
          {"drift", store::drift_json(store::compute_drift(routed, drift))}};
}

}  // namespace ladder::ui
