#include "store/stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "store/record_fields.h"

namespace ladder::store {
namespace {

double num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}
bool truthy(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];  // nearest rank
}

// The first model of the top tier: what an all-frontier deployment would have used.
const CostConfig::Price* frontier_price(const Config& config) {
  if (config.tiers.empty() || config.tiers.back().models.empty()) return nullptr;
  auto it = config.costs.models.find(config.tiers.back().models.front());
  return it == config.costs.models.end() ? nullptr : &it->second;
}

double token_cost(const CostConfig::Price& p, double prompt, double completion) {
  return (prompt * p.prompt_per_million + completion * p.completion_per_million) / 1e6;
}

}  // namespace

LatencySummary summarize_latency(std::vector<double> values) {
  LatencySummary out;
  std::sort(values.begin(), values.end());
  out.count = static_cast<std::int64_t>(values.size());
  if (values.empty()) return out;
  double sum = 0;
  for (double v : values) sum += v;
  out.mean = sum / static_cast<double>(values.size());
  out.p50 = percentile(values, 0.5);
  out.p95 = percentile(values, 0.95);
  out.max = values.back();
  return out;
}

StatsReport compute_stats(const std::vector<StoredDecision>& decisions, const Config& config) {
  StatsReport r;
  std::vector<double> fallback;
  const CostConfig::Price* top = frontier_price(config);
  for (const auto& d : decisions) {
    const nlohmann::json& rec = d.record;
    if (!is_routing_decision(rec)) continue;
    const std::string route = string_field(rec, "route");
    const std::string task = string_field(rec, "task");
    ++r.decisions;
    TaskCounts& t = r.by_task[task];
    ++t.decisions;
    const bool local = route == "local";
    if (local) {
      ++r.local;
      ++t.local;
    } else {
      ++t.escalated;
      const std::string reason = string_field(rec, "reason");
      ++r.escalation_reasons[reason.empty() ? "none" : reason];
    }
    if (auto v = rec.find("validators"); v != rec.end() && v->is_array())
      for (const auto& val : *v)
        if (val.is_object() && val.contains("passed") && val["passed"] == false) {
          const std::string reason = string_field(val, "reason");
          ++r.failure_reasons[reason.empty() ? string_field(val, "validator") : reason];
        }
    if (local && !d.review.empty()) {
      ++r.reviewed_local;
      if (d.review == "defect") ++r.defects_local;
    }
    const bool frontier_answered = !local && truthy(rec, "frontier_ok");
    if (frontier_answered) fallback.push_back(num(rec, "total_ms"));
    if ((local && d.review != "defect") || frontier_answered) ++r.successful;

    // Cost: priced models by their tokens; unpriced (local) models by their seconds. The
    // all-frontier estimate prices a local answer's tokens at the top tier's first model.
    if (auto tiers = rec.find("tiers"); tiers != rec.end() && tiers->is_array()) {
      for (const auto& tier : *tiers) {
        if (!tier.is_object()) continue;
        const double prompt = num(tier, "prompt_tokens"), completion = num(tier, "completion_tokens");
        auto price = config.costs.models.find(string_field(tier, "model_name"));
        if (price != config.costs.models.end()) {
          const double c = token_cost(price->second, prompt, completion);
          r.cost += c;
          r.all_frontier_cost += c;
        } else {
          r.cost += num(tier, "latency_ms") / 1000.0 * config.costs.local_per_second;
          if (top && local) r.all_frontier_cost += token_cost(*top, prompt, completion);
        }
      }
    }
  }
  if (r.decisions > 0) r.local_acceptance = static_cast<double>(r.local) / static_cast<double>(r.decisions);
  if (r.reviewed_local > 0)
    r.defect_rate = static_cast<double>(r.defects_local) / static_cast<double>(r.reviewed_local);
  r.fallback_latency_ms = summarize_latency(std::move(fallback));
  if (r.successful > 0) r.cost_per_successful_task = r.cost / static_cast<double>(r.successful);
  r.saving = r.all_frontier_cost - r.cost;
  return r;
}

nlohmann::json stats_json(const StatsReport& r) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json by_task = nlohmann::json::object();
  for (const auto& [task, t] : r.by_task)
    by_task[task] = {{"decisions", t.decisions},
                     {"local", t.local},
                     {"escalated", t.escalated},
                     {"rate", t.decisions ? static_cast<double>(t.escalated) / static_cast<double>(t.decisions) : 0.0}};
  return {{"decisions", r.decisions},
          {"local", r.local},
          {"local_acceptance", opt(r.local_acceptance)},
          {"escalations_by_task", by_task},
          {"escalation_reasons", r.escalation_reasons},
          {"failure_reasons", r.failure_reasons},
          {"reviewed_local", r.reviewed_local},
          {"defects_local", r.defects_local},
          {"defect_rate", opt(r.defect_rate)},
          {"fallback_latency_ms",
           {{"count", r.fallback_latency_ms.count},
            {"mean", r.fallback_latency_ms.mean},
            {"p50", r.fallback_latency_ms.p50},
            {"p95", r.fallback_latency_ms.p95},
            {"max", r.fallback_latency_ms.max}}},
          {"successful", r.successful},
          {"cost_usd", r.cost},
          {"all_frontier_cost_usd", r.all_frontier_cost},
          {"cost_per_successful_task", opt(r.cost_per_successful_task)},
          {"saving_usd", r.saving}};
}

Result<std::int64_t> parse_duration_seconds(const std::string& text) {
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidArgument,
                      "expected a duration like 90s, 30m, 24h or 7d, got '" + text.substr(0, 40) + "'");
  };
  if (text.size() < 2 || text.size() > 12) return bad();
  std::int64_t n = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return bad();
    n = n * 10 + (text[i] - '0');
  }
  switch (text.back()) {
    case 's':
      return n;
    case 'm':
      return n * 60;
    case 'h':
      return n * 3600;
    case 'd':
      return n * 86400;
    default:
      return bad();
  }
}

std::optional<std::int64_t> epoch_seconds(const std::string& ts) {
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (std::sscanf(ts.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &mon, &day, &hour, &min, &sec) != 6)
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string rfc3339_seconds_ago(std::int64_t seconds) {
  const auto now = std::chrono::system_clock::now() - std::chrono::seconds(seconds);
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

}  // namespace ladder::store
