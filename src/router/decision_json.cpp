#include "router/decision_json.h"

#include "audit/record.h"
#include "audit/redact.h"

namespace ladder {

double stage_ms(const Decision& d, std::string_view stage) {
  for (const auto& s : d.stages)
    if (s.stage == stage) return s.ms;
  return -1.0;
}

nlohmann::json decision_to_json(const Decision& d) {
  using nlohmann::json;
  json j = {
      {"request_id", d.request_id},
      {"task", d.task},
      {"route", d.route},
      {"reason", d.reason ? json(std::string(reason_name(*d.reason))) : json(nullptr)},
      {"reason_detail", d.reason_detail},
      {"answer", d.answer},
      {"answer_text", d.answer_text},
      {"local_ran", d.local_ran},
      {"local_answer", d.local_answer ? *d.local_answer : json(nullptr)},
      {"local_json_valid", d.local_json_valid},
      {"confidence", d.confidence ? json(*d.confidence) : json(nullptr)},
      {"total_ms", d.total_ms},
      {"time_to_decision_ms", stage_ms(d, "time_to_decision")},
  };
  add_local_tier_fields(d, j);
  if (!d.label.empty()) j["label"] = d.label;
  if (!d.macro.empty()) {
    j["macro"] = d.macro;
    j["args"] = d.args;
  }
  if (d.route == "frontier") {
    j["frontier_ok"] = d.frontier_ok;
    if (!d.frontier_error.empty()) j["frontier_error"] = d.frontier_error;
  }
  if (d.hard_stop) {
    j["hard_stop"] = {{"category", d.hard_stop->category},
                      {"rule", d.hard_stop->rule_id},
                      {"where", d.hard_stop->where},
                      {"matched", redacted_match(d.hard_stop->matched)}};
  }
  json validators = json::array();
  for (const auto& v : d.validators) {
    json vj = {{"validator", v.validator}, {"passed", v.passed}};
    if (v.reason) vj["reason"] = std::string(reason_name(*v.reason));
    if (!v.detail.empty()) vj["detail"] = v.detail;
    validators.push_back(std::move(vj));
  }
  j["validators"] = std::move(validators);
  json tiers = json::array();
  for (const auto& t : d.tiers) {
    json tj = {{"tier", t.tier},
               {"tier_name", t.tier_name},
               {"model_name", t.model_name},
               {"backend", t.backend},
               {"model", t.model},
               {"ok", t.ok},
               {"latency_ms", t.latency_ms},
               {"prompt_tokens", t.prompt_tokens},
               {"completion_tokens", t.completion_tokens},
               {"cached_prompt_tokens", t.cached_prompt_tokens}};
    if (!t.error.empty()) tj["error"] = t.error;
    tiers.push_back(std::move(tj));
  }
  j["tiers"] = std::move(tiers);
  json stages = json::object();
  for (const auto& s : d.stages) stages[s.stage] = s.ms;
  j["stages_ms"] = std::move(stages);
  if (d.shadow) {
    j["shadow"] = true;
    if (d.shadow_route) j["shadow_route"] = *d.shadow_route;
  }
  return j;
}

nlohmann::json classify_step_result(const Decision& d) {
  nlohmann::json label;
  if (d.answer.is_object() && d.answer.contains("label") && d.answer["label"].is_string()) label = d.answer["label"];
  return nlohmann::json{{"label", label},
                        {"route", d.route},
                        {"decision_id", d.request_id},
                        {"reason", d.reason ? nlohmann::json(std::string(reason_name(*d.reason))) : nlohmann::json()},
                        {"confidence", d.confidence ? nlohmann::json(*d.confidence) : nlohmann::json()}};
}

}  // namespace ladder
