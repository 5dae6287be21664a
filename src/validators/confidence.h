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

// The q-quantile (0: the lowest, 0.1: p10) of the probabilities of the freely chosen
// tokens of g (logprob < 0; tokens a grammar forced carry logprob 0 and are left out). A
// low quantile, not the mean: one unsure stretch in a long answer is what matters. 1.0
// when every token was forced; nullopt when the backend gave no logprobs.
std::optional<double> token_probability_quantile(const GenerationResult& g, double q);

}  // namespace ladder
