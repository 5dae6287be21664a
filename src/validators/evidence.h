// The "evidence" validator's rule, shared with the router's step before the local model.
#pragma once

#include <optional>

#include "ladder/config.h"
#include "ladder/decision.h"
#include "ladder/validator.h"
#include "policy/evidence.h"

namespace ladder {

// The ruling that holds whatever label the model gives: the input shows evidence for a
// label that escalates (kLabelEscalates), for no label, or for more than one
// (kConfidenceLow). A failed "evidence" result; nullopt when exactly one label that stays
// local has evidence, and the model's label decides.
std::optional<ValidatorResult> evidence_rules_out_every_label(const TaskConfig& task, const EvidenceHits& hits);

// Whether the decision's evidence validator passed: the input showed evidence for the
// local answer's label and for no other (the calibration's corroborated mapping applies).
bool evidence_corroborates(const Decision& d);

}  // namespace ladder
