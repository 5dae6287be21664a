// Contextual calibration of closed choices (labels, macro ids): a small model's few-shot
// answers lean towards some choices whatever the input says. The lean is measured once per
// task from content-free inputs and divided out of each answer's choice probabilities.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ladder/backend.h"

namespace ladder {

using ChoiceProbs = std::map<std::string, double>;

// The content-free inputs whose answers give the prior.
const std::vector<std::string>& content_free_inputs();

// Probability of each choice at the decisive token g.tokens[at]: the chosen token and its
// alternatives, each credited to the choice its text begins (shared evenly when it begins
// several). nullopt when logprobs are missing or no token begins any choice.
std::optional<ChoiceProbs> choice_distribution(const GenerationResult& g, std::size_t at,
                                               const std::vector<std::string>& choices);

// Average of several distributions (missing choices count as 0).
ChoiceProbs average(const std::vector<ChoiceProbs>& dists, const std::vector<std::string>& choices);

// q(c) ∝ p(c) / prior(c), renormalised; priors are floored so no choice divides by zero.
ChoiceProbs calibrate(const ChoiceProbs& p, const ChoiceProbs& prior, const std::vector<std::string>& choices);

// The most probable choice and its probability.
std::pair<std::string, double> best_choice(const ChoiceProbs& q);

// The content-free prior of each task's closed choice, measured once per key and kept.
// Thread-safe; a prior that could not be measured is remembered as absent too.
class ChoicePriors {
 public:
  // The distribution the model gives one content-free input; nullopt when it cannot say.
  using Measure = std::function<std::optional<ChoiceProbs>(const std::string& content_free_input)>;
  std::optional<ChoiceProbs> get(const std::string& key, const std::vector<std::string>& choices,
                                 const Measure& measure);

 private:
  std::mutex mu_;
  std::map<std::string, std::optional<ChoiceProbs>> priors_;
};

// Rewrites a prefix-mode closed-choice answer (prefix + choice + '"}') to `choice` with
// probability `prob`: three tokens, the choice's carrying log(prob).
void rewrite_choice(GenerationResult& g, const std::string& prefix, const std::string& choice, double prob);

}  // namespace ladder
