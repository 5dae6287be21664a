#include "audit/record.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "audit/redact.h"
#include "audit/seal.h"
#include "ladder/utf8.h"

namespace ladder {
namespace {

constexpr int kSchemaVersion = 1;

// RFC 3339 UTC with milliseconds: 2024-05-01T12:34:56.789Z
std::string rfc3339_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

nlohmann::json optional_reason(const std::optional<Reason>& reason) {
  return reason ? nlohmann::json(std::string(reason_name(*reason))) : nlohmann::json(nullptr);
}

// Every string in the record passes through here: secrets masked, UTF-8 made valid, so
// the record never carries a secret and can always be serialised.
// A string that needs no change (no secret, valid UTF-8) is left where it is: most are.
bool needs_scrub(std::string_view text) { return has_secrets(text) || !valid_utf8(text); }
std::string scrubbed(std::string_view text) { return sanitize_utf8(redact_secrets(text)); }

void scrub_strings(nlohmann::json& node) {
  if (node.is_string()) {
    const auto& text = node.get_ref<const std::string&>();
    if (needs_scrub(text)) node = scrubbed(text);
  } else if (node.is_array()) {
    for (auto& child : node) scrub_strings(child);
  } else if (node.is_object()) {
    bool keys_clean = true;
    for (auto it = node.begin(); it != node.end(); ++it) {
      scrub_strings(it.value());
      keys_clean = keys_clean && !needs_scrub(it.key());
    }
    if (keys_clean) return;
    nlohmann::json rekeyed = nlohmann::json::object();
    for (auto it = node.begin(); it != node.end(); ++it) rekeyed[scrubbed(it.key())] = std::move(it.value());
    node = std::move(rekeyed);
  }
}

nlohmann::json tiers_json(const Decision& d, int& prompt_tokens, int& completion_tokens, int& cached_tokens) {
  nlohmann::json tiers = nlohmann::json::array();
  for (const auto& t : d.tiers) {
    tiers.push_back({{"tier", t.tier},
                     {"tier_name", t.tier_name},
                     {"model_name", t.model_name},
                     {"backend", t.backend},
                     {"model", t.model},
                     {"ok", t.ok},
                     {"error", t.ok ? nlohmann::json(nullptr) : nlohmann::json(t.error.to_string())},
                     {"latency_ms", t.latency_ms},
                     {"attempts", t.attempts},
                     {"prompt_tokens", t.prompt_tokens},
                     {"completion_tokens", t.completion_tokens},
                     {"cached_prompt_tokens", t.cached_prompt_tokens}});
    prompt_tokens += t.prompt_tokens;
    completion_tokens += t.completion_tokens;
    cached_tokens += t.cached_prompt_tokens;
  }
  return tiers;
}

nlohmann::json candidate_json(const CandidateResult& c) {
  nlohmann::json j = {{"model", c.model}};
  if (!c.error.empty()) {
    j["error"] = c.error;
    return j;
  }
  j["sha256"] = c.sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.sha256);
  j["label"] = c.label.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.label);
  j["answer_sha256"] = c.answer_sha256;
  j["confidence"] = c.confidence ? nlohmann::json(*c.confidence) : nlohmann::json(nullptr);
  j["would_accept"] = c.would_accept;
  j["reason"] = optional_reason(c.reason);
  j["latency_ms"] = c.latency_ms;
  return j;
}

}  // namespace

nlohmann::json make_audit_record(const Decision& decision, std::string_view input, const AuditConfig& cfg,
                                 std::string_view raw_prompt, const nlohmann::json& extra,
                                 const audit::SealKey* replay_key) {
  const Decision& d = decision;
  nlohmann::json record = nlohmann::json::object();
  record["schema_version"] = kSchemaVersion;
  record["ts"] = rfc3339_now();
  record["request_id"] = d.request_id;
  record["task"] = d.task;
  record["route"] = d.route;
  record["reason"] = optional_reason(d.reason);
  record["reason_detail"] = d.reason_detail;

  int prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
  record["tiers"] = tiers_json(d, prompt_tokens, completion_tokens, cached_tokens);
  record["tokens"] = {{"prompt", prompt_tokens}, {"completion", completion_tokens}, {"cached_prompt", cached_tokens}};

  nlohmann::json validators = nlohmann::json::array();
  for (const auto& v : d.validators)
    validators.push_back({{"validator", v.validator},
                          {"passed", v.passed},
                          {"reason", optional_reason(v.reason)},
                          {"detail", v.detail}});
  record["validators"] = std::move(validators);

  if (d.hard_stop) {
    record["hard_stop"] = {{"category", d.hard_stop->category},
                           {"rule_id", d.hard_stop->rule_id},
                           {"where", d.hard_stop->where},
                           {"matched", redacted_match(d.hard_stop->matched)}};
  } else {
    record["hard_stop"] = nullptr;
  }
  record["confidence"] = d.confidence ? nlohmann::json(*d.confidence) : nlohmann::json(nullptr);
  add_local_tier_fields(d, record);

  nlohmann::json stages = nlohmann::json::object();
  for (const auto& s : d.stages) {
    const double prior = stages.contains(s.stage) ? stages[s.stage].get<double>() : 0.0;
    stages[s.stage] = prior + s.ms;
  }
  record["stages"] = std::move(stages);
  record["total_ms"] = d.total_ms;

  record["input_sha256"] = sha256_hex(input);
  record["local_answer_sha256"] =
      d.local_ran ? nlohmann::json(sha256_hex(d.local_answer_text)) : nlohmann::json(nullptr);
  record["answer_sha256"] = sha256_hex(d.answer_text);
  if (d.reduction) {
    record["reduction"] = {
        {"original_bytes", d.reduction->original_bytes},   {"original_sha256", sha256_hex(input)},
        {"original_lines", d.reduction->original_lines},   {"reduced_bytes", d.reduction->text.size()},
        {"reduced_sha256", sha256_hex(d.reduction->text)}, {"kept_lines", d.reduction->kept_lines},
        {"decisive_lines", d.reduction->decisive_lines},   {"reduced_tokens", d.reduction->tokens}};
  } else {
    record["reduction"] = nullptr;
  }
  record["preview"] = redacted_preview(input, cfg.preview_chars > 0 ? static_cast<std::size_t>(cfg.preview_chars) : 0);

  record["local_ran"] = d.local_ran;
  record["local_json_valid"] = d.local_json_valid;
  record["frontier_ok"] = d.frontier_ok;
  record["frontier_error"] =
      d.frontier_error.ok() ? nlohmann::json(nullptr) : nlohmann::json(d.frontier_error.to_string());
  if (d.frontier_mid_stream) record["frontier_mid_stream"] = true;
  if (d.stream_cancelled) {
    record["delivered"] = false;
    record["cancelled_by_client"] = true;
  }
  if (d.escalation_skipped) record["escalation_skipped"] = true;
  record["label"] = d.label.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.label);
  record["macro"] = d.macro.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.macro);
  record["args"] = d.args;  // grounded in the input; scrubbed like every other string
  record["shadow"] = d.shadow;
  record["shadow_route"] = d.shadow_route ? nlohmann::json(*d.shadow_route) : nlohmann::json(nullptr);
  if (d.candidate) record["candidate"] = candidate_json(*d.candidate);
  if (cfg.store_raw_prompt) record["raw_prompt"] = std::string(raw_prompt);
  if (extra.is_object()) record.update(extra);

  scrub_strings(record);
  // After the scrubbing: the sealed blob keeps the input as it came, secrets and all.
  record.erase("sealed_input");  // never one from `extra`
  if (replay_key) record["sealed_input"] = audit::seal(*replay_key, input);
  return record;
}

void add_local_tier_fields(const Decision& d, nlohmann::json& out) {
  if (d.measured_confidence) out["measured_confidence"] = *d.measured_confidence;
  if (d.local_only) out["local_only"] = true;
  if (d.kept_local_reason) out["kept_local_reason"] = std::string(reason_name(*d.kept_local_reason));
  if (d.local_tries.empty()) return;
  out["local_tries"] = local_tries_json(d);
  out["local_tier"] = d.local_tries.back().tier_name;
}

nlohmann::json local_tries_json(const Decision& d) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : d.local_tries) {
    nlohmann::json j = {{"tier", t.tier}, {"tier_name", t.tier_name}, {"accepted", !t.reason.has_value()}};
    if (t.reason) j["reason"] = std::string(reason_name(*t.reason));
    if (t.confidence) j["confidence"] = *t.confidence;
    if (!t.label.empty()) j["label"] = t.label;
    if (!t.macro.empty()) j["macro"] = t.macro;
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json make_pass_through_record(const PassThroughCall& call, const nlohmann::json& extra) {
  nlohmann::json record = {{"ts", rfc3339_now()},     {"request_id", call.request_id},
                           {"route", "pass_through"}, {"model_name", call.model_name},
                           {"ok", call.outcome.ok()}, {"latency_ms", call.latency_ms}};
  if (call.outcome.ok()) {
    record["model"] = call.model;
    record["prompt_tokens"] = call.prompt_tokens;
    record["completion_tokens"] = call.completion_tokens;
  } else {
    record["error"] = call.outcome.to_string();
  }
  if (extra.is_object()) record.update(extra);
  scrub_strings(record);
  return record;
}

nlohmann::json make_refused_record(const RefusedRequest& refused, const nlohmann::json& extra) {
  nlohmann::json record = {{"ts", rfc3339_now()},
                           {"request_id", refused.request_id},
                           {"route", "rejected"},
                           {"endpoint", refused.endpoint},
                           {"ok", false},
                           {"reason", refused.reason},
                           {"limit", refused.limit},
                           {"retry_after_s", refused.retry_after_s},
                           {"error", refused.message}};
  if (extra.is_object()) record.update(extra);
  scrub_strings(record);
  return record;
}

}  // namespace ladder
