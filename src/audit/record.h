// One audit record per decision.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "ladder/config.h"
#include "ladder/decision.h"

namespace ladder {

// Fields: ts, request_id, task, route, reason, reason_detail, tiers (tried, with model
// and version, latency, tokens, error), validators, hard_stop, confidence, stages (ms),
// total_ms, tokens {prompt, completion}, input_sha256, local_answer_sha256,
// answer_sha256, preview (redacted, at most cfg.preview_chars characters), label, macro,
// shadow fields. The raw prompt is stored only when cfg.store_raw_prompt.
nlohmann::json make_audit_record(const Decision& decision, std::string_view input, const AuditConfig& cfg,
                                 std::string_view raw_prompt = {});

// Each local tier the request was put to: [{tier, tier_name, accepted, reason?,
// confidence?, label?, macro?}], for the audit record and the decision JSON alike.
nlohmann::json local_tries_json(const Decision& d);
// Adds measured_confidence, local_only, kept_local_reason, local_tries and local_tier
// (each when it applies) to a record or decision object.
void add_local_tier_fields(const Decision& d, nlohmann::json& out);

}  // namespace ladder
