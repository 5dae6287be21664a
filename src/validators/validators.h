// Private to src/validators: one factory per validator file, and the helpers several
// validators share. registry.cpp lists the factories in one table.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/validator.h"

namespace ladder {

std::unique_ptr<Validator> make_parse_validator();
std::unique_ptr<Validator> make_json_schema_validator();
std::unique_ptr<Validator> make_labels_validator();
std::unique_ptr<Validator> make_escalate_labels_validator();
std::unique_ptr<Validator> make_evidence_validator();
std::unique_ptr<Validator> make_confidence_validator();
std::unique_ptr<Validator> make_grounding_validator();
std::unique_ptr<Validator> make_pairing_validator();
std::unique_ptr<Validator> make_number_binding_validator();
std::unique_ptr<Validator> make_hard_stop_answer_validator();
std::unique_ptr<Validator> make_quote_grounding_validator();
std::unique_ptr<Validator> make_answer_length_validator();
std::unique_ptr<Validator> make_verbatim_copy_validator();

// A generate task's parsed answer (the checks: of generate tasks read it).
bool is_generate_answer(const ValidationContext& ctx);

// Every string value in `value`, depth first, with its path ("errors[1]", "summary").
// `skip` names top-level fields to leave out.
std::vector<std::pair<std::string, std::string>> answer_strings(const nlohmann::json& value,
                                                                const std::vector<std::string>& skip = {});

// The argument object a route_macro / extract answer carries, with the schema it must
// match. The router hands route_macro validators the args object itself with
// ctx.schema = the macro's input_schema; an answer of the form {"macro": id, "args": {...}}
// with ctx.macro set is also understood (answer.args against the macro's input_schema).
// Otherwise: the whole answer against *ctx.schema. `object` is null when there is nothing to read.
struct ArgumentView {
  const nlohmann::json* object = nullptr;
  const nlohmann::json* schema = nullptr;
};
ArgumentView argument_view(const ValidationContext& ctx);

// A route_macro / extract answer with an argument object and its schema to check.
bool has_arguments(const ValidationContext& ctx);

// Whether a classify task's label is one of its escalate_labels (never stays local).
bool label_escalates(const TaskConfig& task, const std::string& label);

ValidatorResult validator_pass(std::string_view name, std::string detail = {});
ValidatorResult validator_fail(std::string_view name, Reason reason, std::string detail);

// A short, single-line rendering of a JSON value for details ("\"acme\"", "80").
std::string short_json(const nlohmann::json& value, std::size_t max_chars = 80);

}  // namespace ladder
