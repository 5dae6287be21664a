#include "store/rotation.h"

#include "store/record_fields.h"

namespace ladder::store {
namespace {

std::optional<double> share(std::int64_t n, std::int64_t of) {
  if (of == 0) return std::nullopt;
  return static_cast<double>(n) / static_cast<double>(of);
}

nlohmann::json latency(const LatencySummary& l) { return {{"count", l.count}, {"p50", l.p50}, {"p95", l.p95}}; }

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

std::map<std::string, RotationTask> compute_rotation(const std::vector<StoredDecision>& decisions) {
  std::map<std::string, RotationTask> out;
  std::map<std::string, std::vector<double>> live_ms, candidate_ms;
  for (const auto& d : decisions) {
    const auto c = d.record.find("candidate");
    if (c == d.record.end() || !c->is_object()) continue;
    const std::string task = string_field(d.record, "task");
    RotationTask& t = out[task];
    t.candidate_model = string_field(*c, "model");
    t.shadowed++;
    const std::string live_label = string_field(d.record, "label"), cand_label = string_field(*c, "label");
    const std::string live_hash = string_field(d.record, "local_answer_sha256"),
                      cand_hash = string_field(*c, "answer_sha256");
    if ((!live_label.empty() && live_label == cand_label) ||
        (live_label.empty() && !live_hash.empty() && live_hash == cand_hash))
      t.agreed++;
    const bool live_local = string_field(d.record, "route") == "local";
    const bool cand_accept = c->value("would_accept", false);
    if (live_local) t.live_accepted++;
    if (cand_accept) t.candidate_accepted++;
    const auto hard = d.record.find("hard_stop");
    const bool hard_escalation = !live_local && hard != d.record.end() && !hard->is_null();
    if (cand_accept && (d.review == "defect" || hard_escalation)) t.would_be_false_accepts++;
    const auto tiers = d.record.find("tiers");
    if (tiers != d.record.end() && tiers->is_array() && !tiers->empty() && (*tiers)[0].contains("latency_ms") &&
        (*tiers)[0]["latency_ms"].is_number())
      live_ms[task].push_back((*tiers)[0]["latency_ms"].get<double>());
    if (c->contains("latency_ms") && (*c)["latency_ms"].is_number())
      candidate_ms[task].push_back((*c)["latency_ms"].get<double>());
  }
  for (auto& [task, t] : out) {
    t.agreement = share(t.agreed, t.shadowed);
    t.live_acceptance = share(t.live_accepted, t.shadowed);
    t.candidate_acceptance = share(t.candidate_accepted, t.shadowed);
    t.live_latency_ms = summarize_latency(std::move(live_ms[task]));
    t.candidate_latency_ms = summarize_latency(std::move(candidate_ms[task]));
  }
  return out;
}

nlohmann::json rotation_json(const std::map<std::string, RotationTask>& report) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [task, t] : report)
    out[task] = {{"candidate_model", t.candidate_model},
                 {"shadowed", t.shadowed},
                 {"agreement", opt(t.agreement)},
                 {"live_acceptance", opt(t.live_acceptance)},
                 {"candidate_acceptance", opt(t.candidate_acceptance)},
                 {"would_be_false_accepts", t.would_be_false_accepts},
                 {"live_latency_ms", latency(t.live_latency_ms)},
                 {"candidate_latency_ms", latency(t.candidate_latency_ms)}};
  return out;
}

}  // namespace ladder::store
