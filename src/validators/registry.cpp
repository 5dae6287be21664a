#include "validators/registry.h"

#include <string_view>

#include "validators/validators.h"

namespace ladder {
namespace {

using ValidatorFactory = std::unique_ptr<Validator> (*)();

// The validator chain, in order. Adding a validator means adding one line here.
constexpr ValidatorFactory kValidatorTable[] = {
    make_parse_validator,             // parse
    make_json_schema_validator,       // json_schema
    make_labels_validator,            // labels
    make_escalate_labels_validator,   // escalate_labels
    make_evidence_validator,          // evidence (before confidence, which reads ctx.corroborated)
    make_confidence_validator,        // confidence
    make_grounding_validator,         // grounding
    make_pairing_validator,           // pairing
    make_number_binding_validator,    // number_binding
    make_quote_grounding_validator,   // quotes_grounded
    make_answer_length_validator,     // answer_length
    make_verbatim_copy_validator,     // verbatim_copy
    make_hard_stop_answer_validator,  // hard_stop_answer
};

bool is_hard_stop(Reason reason) {
  return reason == Reason::kHardStopSecurity || reason == Reason::kHardStopAccess ||
         reason == Reason::kHardStopProduction;
}

}  // namespace

const std::vector<std::unique_ptr<Validator>>& validator_chain() {
  static const std::vector<std::unique_ptr<Validator>> chain = [] {
    std::vector<std::unique_ptr<Validator>> v;
    for (ValidatorFactory make : kValidatorTable) v.push_back(make());
    return v;
  }();
  return chain;
}

std::vector<ValidatorResult> run_validators(ValidationContext& ctx) {
  std::vector<ValidatorResult> results;
  for (const auto& validator : validator_chain()) {
    if (!validator->applies(ctx)) continue;
    results.push_back(validator->validate(ctx));
    if (validator->name() == "parse" && !results.back().passed) break;
  }
  return results;
}

std::optional<Reason> first_failure_reason(const std::vector<ValidatorResult>& results) {
  std::optional<Reason> first;
  for (const auto& r : results) {
    if (r.passed || !r.reason) continue;
    if (is_hard_stop(*r.reason)) return r.reason;
    if (!first) first = r.reason;
  }
  return first;
}

}  // namespace ladder
