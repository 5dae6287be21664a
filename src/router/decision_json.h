#pragma once

#include <nlohmann/json.hpp>

#include "ladder/decision.h"

namespace ladder {
// The whole decision, answer included, for the CLI's --json and the HTTP layer.
nlohmann::json decision_to_json(const Decision& d);
// What a macro's classify step gets back: {label, route, reason, confidence, decision_id};
// the label is the accepted local one or the frontier's, null when the escalation went
// unanswered.
nlohmann::json classify_step_result(const Decision& d);
// Milliseconds of one stage, or -1 when it did not run.
double stage_ms(const Decision& d, std::string_view stage);
}  // namespace ladder
