#include "router/calibration.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace ladder {
namespace {

constexpr double kPriorFloor = 1e-4;

// The choice as it appears inside a JSON string (escaped, no quotes).
std::string json_inner(const std::string& s) {
  std::string q = nlohmann::json(s).dump();
  return q.substr(1, q.size() - 2);
}

}  // namespace

const std::vector<std::string>& content_free_inputs() {
  static const std::vector<std::string> kInputs = {"N/A", "[MASK]", ""};
  return kInputs;
}

std::optional<ChoiceProbs> choice_distribution(const GenerationResult& g, std::size_t at,
                                               const std::vector<std::string>& choices) {
  if (!g.has_logprobs || at >= g.tokens.size()) return std::nullopt;
  const TokenLogprob& tok = g.tokens[at];
  std::map<std::string, double> by_piece;
  by_piece[tok.token] = std::exp(tok.logprob);
  for (const auto& [piece, lp] : tok.top) by_piece.emplace(piece, std::exp(lp));

  ChoiceProbs p;
  for (const auto& c : choices) p[c] = 0.0;
  for (const auto& [piece, prob] : by_piece) {
    if (piece.empty()) continue;
    std::vector<const std::string*> begins;
    for (const auto& c : choices)
      if (json_inner(c).rfind(piece, 0) == 0) begins.push_back(&c);
    // A token that begins several choices ("re" for repo_… and release_…) is shared
    // evenly among them: the decisive token cannot tell them apart.
    for (const auto* c : begins) p[*c] += prob / static_cast<double>(begins.size());
  }
  double total = 0.0;
  for (const auto& [c, v] : p) total += v;
  if (total <= 0.0) return std::nullopt;
  for (auto& [c, v] : p) v /= total;
  return p;
}

ChoiceProbs average(const std::vector<ChoiceProbs>& dists, const std::vector<std::string>& choices) {
  ChoiceProbs out;
  for (const auto& c : choices) out[c] = 0.0;
  if (dists.empty()) return out;
  for (const auto& d : dists)
    for (const auto& c : choices) {
      auto it = d.find(c);
      if (it != d.end()) out[c] += it->second / static_cast<double>(dists.size());
    }
  return out;
}

ChoiceProbs calibrate(const ChoiceProbs& p, const ChoiceProbs& prior, const std::vector<std::string>& choices) {
  ChoiceProbs q;
  double total = 0.0;
  for (const auto& c : choices) {
    auto pi = p.find(c);
    auto pr = prior.find(c);
    const double num = pi == p.end() ? 0.0 : pi->second;
    const double den = std::max(pr == prior.end() ? 0.0 : pr->second, kPriorFloor);
    q[c] = num / den;
    total += q[c];
  }
  if (total > 0.0)
    for (auto& [c, v] : q) v /= total;
  return q;
}

std::pair<std::string, double> best_choice(const ChoiceProbs& q) {
  std::pair<std::string, double> best{"", -1.0};
  for (const auto& [c, v] : q)
    if (v > best.second) best = {c, v};
  return best;
}

std::optional<ChoiceProbs> ChoicePriors::get(const std::string& key, const std::vector<std::string>& choices,
                                             const Measure& measure) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = priors_.find(key);
  if (it != priors_.end()) return it->second;
  std::vector<ChoiceProbs> dists;
  for (const auto& cf : content_free_inputs()) {
    auto d = measure(cf);
    if (!d) break;
    dists.push_back(std::move(*d));
  }
  std::optional<ChoiceProbs> prior;
  if (dists.size() == content_free_inputs().size()) prior = average(dists, choices);
  priors_[key] = prior;
  return prior;
}

void rewrite_choice(GenerationResult& g, const std::string& prefix, const std::string& choice, double prob) {
  const std::string inner = json_inner(choice);
  g.text = prefix + inner + "\"}";
  g.tokens = {TokenLogprob{prefix, 0.0, {}}, TokenLogprob{inner, std::log(prob), {}}, TokenLogprob{"\"}", 0.0, {}}};
}

}  // namespace ladder
