// Hand-built local answers for validator tests: text plus token log-probabilities.
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ladder/backend.h"

namespace ladder::test_answers {

// The tokens concatenated form the text; each carries its log-probability.
inline GenerationResult generation(const std::vector<std::pair<std::string, double>>& pieces) {
  GenerationResult g;
  g.has_logprobs = true;
  for (const auto& [token, logprob] : pieces) {
    g.text += token;
    g.tokens.push_back(TokenLogprob{token, logprob, {}});
  }
  return g;
}

// {"label": "<label>"} with the label's token at probability p.
inline GenerationResult label_answer(const std::string& label, double p) {
  return generation({{"{\"label\": \"", 0.0}, {label, std::log(p)}, {"\"}", 0.0}});
}

}  // namespace ladder::test_answers
