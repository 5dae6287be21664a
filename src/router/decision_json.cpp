#include "router/decision_json.h"

#include <algorithm>

#include "audit/record.h"
#include "audit/redact.h"

namespace ladder {
namespace {

// What a failed model call did, in ladder's words (never the backend's message).
std::string_view failure_words(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnavailable:
      return "could not be reached";
    case ErrorCode::kTimeout:
      return "did not answer in time";
    case ErrorCode::kRateLimited:
      return "is rate limiting requests";
    case ErrorCode::kUpstreamError:
      return "failed with a server error";
    case ErrorCode::kUpstreamRejected:
      return "refused the request";
    case ErrorCode::kBadResponse:
      return "sent an answer ladder could not read";
    case ErrorCode::kConnectionReset:
      return "cut the connection";
    case ErrorCode::kNotConfigured:
      return "is not configured on this server (a setting such as its API key is missing)";
    default:
      return "failed";
  }
}

std::string with_retry_after(std::string text, const Status& s) {
  if (s.retry_after()) text += "; retry after " + std::to_string(retry_after_seconds(*s.retry_after())) + " s";
  return text;
}

nlohmann::json error_json(const Status& s, std::string message) {
  nlohmann::json j = {{"code", error_name(s.code())}, {"message", std::move(message)}};
  if (s.retry_after()) j["retry_after_s"] = retry_after_seconds(*s.retry_after());
  return j;
}

}  // namespace

long long retry_after_seconds(std::chrono::milliseconds delay) {
  return std::chrono::ceil<std::chrono::seconds>(std::max(delay, std::chrono::milliseconds(0))).count();
}

std::string public_call_error(const std::string& model_name, const Status& failure) {
  return with_retry_after("model '" + model_name + "' " + std::string(failure_words(failure.code())), failure);
}

std::string public_attempt_error(const TierAttempt& t) {
  switch (t.skipped) {
    case AttemptSkip::kNotBuilt:
      return "model '" + t.model_name + "' is not available on this server";
    case AttemptSkip::kMarkedDown:
      return with_retry_after("model '" + t.model_name + "' is marked down after failed calls", t.error);
    case AttemptSkip::kNone:
      break;
  }
  return public_call_error(t.model_name, t.error);
}

const TierAttempt* last_failed_escalation(const Decision& d) {
  for (auto it = d.tiers.rbegin(); it != d.tiers.rend(); ++it)
    if (it->tier > 0 && !it->ok) return &*it;
  return nullptr;
}

nlohmann::json frontier_error_json(const Decision& d, ErrorDetail detail) {
  if (d.frontier_error.ok()) return nullptr;
  const TierAttempt* failed = last_failed_escalation(d);
  nlohmann::json j =
      error_json(d.frontier_error,
                 detail == ErrorDetail::kFull || !failed ? d.frontier_error.message() : public_attempt_error(*failed));
  if (d.frontier_mid_stream) j["mid_stream"] = true;
  return j;
}

double stage_ms(const Decision& d, std::string_view stage) {
  for (const auto& s : d.stages)
    if (s.stage == stage) return s.ms;
  return -1.0;
}

nlohmann::json decision_to_json(const Decision& d, ErrorDetail detail) {
  const bool full = detail == ErrorDetail::kFull;
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
    if (d.escalation_skipped) j["escalation_skipped"] = true;
    if (!d.frontier_error.ok()) j["frontier_error"] = frontier_error_json(d, detail);
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
    if (!t.ok) tj["error"] = error_json(t.error, full ? t.error.message() : public_attempt_error(t));
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
