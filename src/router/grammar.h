// GBNF grammars the router builds itself: exact output shapes for closed choices and
// for macro arguments grounded in the input by construction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ladder {

// A GBNF string literal for `text` ("..." with escapes).
std::string gbnf_literal(std::string_view text);

// root ::= ' '? '{"<key>": "' ( choice1 | choice2 | ... ) '"}'
std::string closed_choice_grammar(std::string_view key, const std::vector<std::string>& choices);

// The same choice when the prompt already ends with closed_choice_prefix(key):
// root ::= ( choice1 | choice2 | ... ) '"}'. Saves decoding the forced prefix.
std::string closed_choice_tail_grammar(const std::vector<std::string>& choices);
std::string closed_choice_prefix(std::string_view key);

// Candidate string values for free-string arguments: identifier-like runs of the input
// ("acme/checkout", "acme", "checkout", "v2.4.0", "release/2.x"), without trailing
// punctuation, deduplicated, in order of appearance.
std::vector<std::string> input_spans(std::string_view input);

// Property order used in prompts and grammars: `required` first (in its order), then
// the other properties by name.
std::vector<std::string> argument_order(const nlohmann::json& object_schema);

// A grammar for one macro's argument object, every property present, in
// argument_order(): enum strings choose among their members; free strings among
// input_spans() that satisfy the property's pattern (via RE2); integers among the numbers
// stated in the input within minimum/maximum, plus the default. Properties without any
// candidate fall back to their default; with no default either, a required property has
// no candidate and the function returns an empty string (the caller escalates).
std::string macro_args_grammar(const nlohmann::json& object_schema, std::string_view input);

}  // namespace ladder
