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

}  // namespace ladder
