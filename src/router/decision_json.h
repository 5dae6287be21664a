#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "ladder/decision.h"

namespace ladder {

// How failures read in a decision's JSON. kPublic is what the HTTP layer sends clients:
// a failure is told by its code, the model's name and words chosen by ladder; the
// backends' own messages (URLs, hosts, upstream bodies) stay in the audit record and the
// server log. kFull (the CLI, run by the operator) keeps every message as it is.
enum class ErrorDetail { kFull, kPublic };

// The whole decision, answer included, for the CLI's --json and the HTTP layer. A failed
// tier and an unanswered escalation carry {"code", "message", "retry_after_s"?}.
nlohmann::json decision_to_json(const Decision& d, ErrorDetail detail = ErrorDetail::kFull);

// A failed or skipped model call in words a client may read: "model 'frontier' is rate
// limiting requests", "model 'frontier' is marked down after failed calls; next try in 4 s".
std::string public_attempt_error(const TierAttempt& t);
// The same for one call on a named model (the server's pass-through).
std::string public_call_error(const std::string& model_name, const Status& failure);
// An unanswered escalation's failure: {"code", "message", "retry_after_s"?, "mid_stream"?};
// null when the escalation was answered or did not happen.
nlohmann::json frontier_error_json(const Decision& d, ErrorDetail detail);
// The failed escalation attempt a decision's frontier_error came from (null when none).
const TierAttempt* last_failed_escalation(const Decision& d);
// Retry-After in whole seconds, rounded up.
long long retry_after_seconds(std::chrono::milliseconds delay);

// What a macro's classify step gets back: {label, route, reason, confidence, decision_id};
// the label is the accepted local one or the frontier's, null when the escalation went
// unanswered.
nlohmann::json classify_step_result(const Decision& d);
// Milliseconds of one stage, or -1 when it did not run.
double stage_ms(const Decision& d, std::string_view stage);
}  // namespace ladder
