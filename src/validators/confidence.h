// Confidence measured from token probabilities, never from a number the model writes.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "ladder/backend.h"

namespace ladder {

// Probability of the characters [begin, end) of g.text: the product of exp(logprob) of
// every token that overlaps the span (tokens are concatenated to rebuild the text).
// nullopt when the backend gave no logprobs or the tokens do not rebuild g.text.
std::optional<double> span_confidence(const GenerationResult& g, std::size_t begin, std::size_t end);

// Confidence of the string value of the first `"key": "value"` in g.text.
std::optional<double> json_value_confidence(const GenerationResult& g, std::string_view key);

}  // namespace ladder
