// Argument grounding: extracted values must come from the input.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ladder {

// Lower-case, unify quotes and dashes, collapse whitespace.
std::string normalize_for_grounding(std::string_view text);

// True when the normalised value occurs in the normalised input.
bool string_grounded(std::string_view value, std::string_view input);

// How many times the normalised value occurs in the normalised input (whole words at its
// word-character ends, as string_grounded), counting up to at_most.
std::size_t occurrences_in(std::string_view value, std::string_view input, std::size_t at_most);

// Identifier-like runs of the input (letters, digits, '.', '_', '-', '/', non-ASCII),
// with leading and trailing punctuation trimmed: "acme/checkout.", "v2.4.0!" give
// "acme/checkout", "v2.4.0". In order of appearance, not deduplicated.
std::vector<std::string> input_runs(std::string_view input);

// The parts of a slash-joined run: "release/2.x" → "release", "2.x".
std::vector<std::string> split_slashes(std::string_view run);

// Free string arguments (type string, no enum) of an object schema in argument order:
// required first, in the order `required` lists them, then the rest by name.
std::vector<std::string> free_string_order(const nlohmann::json& schema);

// The value of one English number word, "zero" to "ninety" ("seven", "twenty") or
// "dozen"; nullopt for anything else.
std::optional<long long> number_word_value(std::string_view word);

// Integers stated in the text: digit runs (also inside "#482", "acme/infra#63") and
// English number words ("two", "twelve", "a dozen").
std::vector<long long> numbers_in_text(std::string_view text);

// An argument map is grounded when every free string (not an enum member) occurs in the
// input, every integer is stated in the input or equals its schema default, and no enum
// argument differs from a member the input names. Returns
// the names of the ungrounded arguments.
std::vector<std::string> ungrounded_arguments(const nlohmann::json& args, const nlohmann::json& object_schema,
                                              std::string_view input);

}  // namespace ladder
