// Deterministic token estimates for budgets when no tokenizer is at hand.
#pragma once

#include <functional>
#include <string_view>

namespace ladder {

// Counts tokens of a text; a backend's tokenizer can stand in for the estimate.
using TokenCounter = std::function<int(std::string_view)>;

// An upper-leaning estimate that depends only on the bytes: each run of ASCII letters and
// digits costs one token per four characters (at least one), every other non-space ASCII
// character one, every non-ASCII code point one, every newline one.
int estimate_tokens(std::string_view text);

}  // namespace ladder
