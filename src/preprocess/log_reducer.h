// Deterministic log reduction: noise out, the decisive lines in, within a token budget.
// Pure: no I/O, no clock, no randomness; the same input and options give the same output.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace ladder {

// Counts tokens of a text; a backend's tokenizer can stand in for the estimate.
using TokenCounter = std::function<int(std::string_view)>;

struct LogReduceOptions {
  int max_tokens = 512;       // bound on the reduced text (as counted by count_tokens)
  int context_lines = 2;      // kept lines before and after each decisive line
  int tail_lines = 8;         // the last lines of a log usually say how it ended
  int head_lines = 2;         // the first lines say what ran
  int max_line_bytes = 600;   // a longer line is cut (on a code point boundary) with "…"
  TokenCounter count_tokens;  // empty: estimate_tokens (policy/gates.h)
};

struct ReducedLog {
  std::string text;  // valid UTF-8, at most max_tokens tokens
  std::size_t original_bytes = 0;
  std::size_t original_lines = 0;
  std::size_t kept_lines = 0;      // lines of the original that appear in text
  std::size_t decisive_lines = 0;  // decisive lines found (kept or not)
  int tokens = 0;                  // tokens of text
  bool invalid_utf8 = false;       // the input had invalid sequences (replaced by U+FFFD)
};

// Cleans every line (see clean_log_line), drops blank ones, collapses runs of repeated
// or near-repeated lines into the first one and "... (N similar lines)", and, when the
// result is over budget, keeps by priority the decisive lines (first and last first),
// their context, the tail and the head, in log order, with "... (N lines omitted)" in
// each gap.
ReducedLog reduce_log(std::string_view input, const LogReduceOptions& options = {});

}  // namespace ladder
