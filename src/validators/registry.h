// The validator chain, in one explicit table (registry.cpp).
#pragma once

#include <memory>
#include <vector>

#include "ladder/validator.h"

namespace ladder {

// Ordered: parse, json_schema, labels, escalate_labels, evidence, confidence, grounding,
// pairing, quotes_grounded, answer_length, verbatim_copy, hard_stop_answer.
const std::vector<std::unique_ptr<Validator>>& validator_chain();

// Runs every validator that applies, in order, and returns every result. When "parse"
// fails the rest are skipped (they have nothing to read).
std::vector<ValidatorResult> run_validators(ValidationContext& ctx);

// The first failed result's reason, with hard stops taking precedence over the rest.
std::optional<Reason> first_failure_reason(const std::vector<ValidatorResult>& results);

}  // namespace ladder
