// Number binding: which integers the input writes beside an argument's noun.
//
// An integer argument's noun comes from its name: "reviewerCount" → "reviewer",
// "runCount" → "run", "days" → "day", "prNumber" → "pr" (also "pull request", "merge
// request", "mr"). A name whose words include "number", "num", "no" or "id" is an
// identifier; any other is a count. The input binds a number to a count when the number
// stands before the noun with at most two words between ("3 reviewers", "the last 4
// failed workflow runs"), and to an identifier when it follows the noun, optionally after
// "number", "no" or '#' ("pull request 1290", "PR #482", "issue no. 7"), or when it is
// written as "#N" anywhere ("acme/infra#63").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ladder {

struct NumberBinding {
  long long value = 0;
  std::string text;  // the words of the input that bind it: "3 reviewers"
};

// The numbers the input binds to the integer argument called `name`; empty when the
// name has no noun (a bare "count") or the input writes none.
std::vector<NumberBinding> numbers_bound_to(std::string_view name, std::string_view input);

// Whether `word` is the noun of the integer argument called `name` ("issue" for
// issueNumber, "pull request" or "prs" for prCount): the word that introduces that
// argument's number, not a value of another argument.
bool is_argument_noun(std::string_view name, std::string_view word);

}  // namespace ladder
