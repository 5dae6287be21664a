#include "validators/confidence.h"

#include <vector>

#include <algorithm>

#include <cmath>
#include <string>

namespace ladder {
namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// End of the JSON string whose opening quote is at `open`: index of the closing quote.
std::optional<std::size_t> string_end(std::string_view text, std::size_t open) {
  for (std::size_t i = open + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
      continue;
    }
    if (text[i] == '"') return i;
  }
  return std::nullopt;
}

// Index just past a bare JSON value (number, true, false, null) starting at `begin`.
std::size_t bare_value_end(std::string_view text, std::size_t begin) {
  std::size_t i = begin;
  while (i < text.size()) {
    char c = text[i];
    bool number_char = (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
    bool literal_char = c >= 'a' && c <= 'z';
    if (!number_char && !literal_char) break;
    ++i;
  }
  return i;
}

}  // namespace

std::optional<double> span_confidence(const GenerationResult& g, std::size_t begin, std::size_t end) {
  if (!g.has_logprobs || g.tokens.empty()) return std::nullopt;
  if (begin >= end || end > g.text.size()) return std::nullopt;
  std::string rebuilt;
  rebuilt.reserve(g.text.size());
  for (const auto& t : g.tokens) rebuilt += t.token;
  if (rebuilt != g.text) return std::nullopt;

  double probability = 1.0;
  std::size_t offset = 0;
  for (const auto& t : g.tokens) {
    const std::size_t token_begin = offset;
    const std::size_t token_end = offset + t.token.size();
    offset = token_end;
    if (token_end <= begin) continue;
    if (token_begin >= end) break;
    if (token_begin == token_end) continue;
    probability *= std::exp(t.logprob);
  }
  return probability;
}

std::optional<double> json_value_confidence(const GenerationResult& g, std::string_view key) {
  const std::string_view text = g.text;
  std::string needle;
  needle.reserve(key.size() + 2);
  needle.push_back('"');
  needle.append(key);
  needle.push_back('"');
  std::size_t from = 0;
  while (true) {
    const std::size_t at = text.find(needle, from);
    if (at == std::string_view::npos) return std::nullopt;
    from = at + 1;
    if (at > 0 && text[at - 1] == '\\') continue;  // an escaped quote inside a string
    std::size_t i = at + needle.size();
    while (i < text.size() && is_json_space(text[i])) ++i;
    if (i >= text.size() || text[i] != ':') continue;  // a value equal to the key, not the key
    ++i;
    while (i < text.size() && is_json_space(text[i])) ++i;
    if (i >= text.size()) return std::nullopt;
    if (text[i] == '"') {
      auto close = string_end(text, i);
      if (!close) return std::nullopt;
      // An empty string: the decision is the closing quote itself.
      if (*close == i + 1) return span_confidence(g, *close, *close + 1);
      return span_confidence(g, i + 1, *close);
    }
    const std::size_t value_end = bare_value_end(text, i);
    if (value_end == i) return std::nullopt;  // object or array: no single decisive value
    return span_confidence(g, i, value_end);
  }
}

std::optional<double> token_probability_quantile(const GenerationResult& g, double q) {
  if (!g.has_logprobs || g.tokens.empty()) return std::nullopt;
  std::vector<double> probs;
  for (const auto& t : g.tokens)
    if (t.logprob < 0.0) probs.push_back(std::exp(t.logprob));
  if (probs.empty()) return 1.0;
  std::sort(probs.begin(), probs.end());
  const double clamped = std::clamp(q, 0.0, 1.0);
  return probs[static_cast<std::size_t>(clamped * static_cast<double>(probs.size() - 1))];
}

}  // namespace ladder
