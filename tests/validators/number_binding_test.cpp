// Which numbers the input binds to an integer argument's noun.
#include "validators/number_binding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ladder {
namespace {

std::vector<long long> values(std::string_view name, std::string_view input) {
  std::vector<long long> out;
  for (const auto& b : numbers_bound_to(name, input)) out.push_back(b.value);
  return out;
}

using V = std::vector<long long>;

TEST(NumberBindingTest, CountBeforeItsNounIdentifierAfterIt) {
  const std::string_view in = "find 3 reviewers for pull request 1290 on rust-lang/rustfmt";
  EXPECT_EQ(values("reviewerCount", in), V{3});
  EXPECT_EQ(values("prNumber", in), V{1290});
  const auto bound = numbers_bound_to("prNumber", in);
  ASSERT_EQ(bound.size(), 1u);
  EXPECT_EQ(bound[0].text, "pull request 1290");
}

TEST(NumberBindingTest, AtMostTwoWordsBetweenACountAndItsNoun) {
  EXPECT_EQ(values("runCount", "look at the last 4 failed workflow runs on main"), V{4});
  EXPECT_EQ(values("runCount", "the 4 very old failed workflow runs"), V{});
  EXPECT_EQ(values("prCount", "Label the 10 most recent PRs in acme/web"), V{10});
  EXPECT_EQ(values("prCount", "triage the newest 7 pull requests"), V{7});
  // Another number in between ends the search: "3" is not a count of runs here.
  EXPECT_EQ(values("runCount", "3 of 12 runs"), V{12});
}

TEST(NumberBindingTest, NumberWordsAndHashReferences) {
  EXPECT_EQ(values("reviewerCount", "Assign two reviewers to PR #482 in acme/api"), V{2});
  const auto pr = values("prNumber", "Assign two reviewers to PR #482 in acme/api");
  ASSERT_FALSE(pr.empty());
  for (long long v : pr) EXPECT_EQ(v, 482);
  EXPECT_EQ(values("prNumber", "I need one reviewer on acme/infra#63"), V{63});
  EXPECT_EQ(values("reviewerCount", "I need one reviewer on acme/infra#63"), V{1});
}

TEST(NumberBindingTest, IdentifierAfterNumberOrNo) {
  EXPECT_EQ(values("issueNumber", "please label issue number 18 in sindresorhus/ky"), V{18});
  EXPECT_EQ(values("issue_number", "label issue no. 7"), V{7});
  EXPECT_EQ(values("PRNumber", "welcome the author of PR 5"), V{5});
  EXPECT_EQ(values("prNumber", "welcome the author of merge request 12"), V{12});
}

TEST(NumberBindingTest, PluralNamesAndVersionsAndBareCounts) {
  EXPECT_EQ(values("days", "Mark issues that have been quiet for 90 days as stale"), V{90});
  EXPECT_EQ(values("days", "idle for 1 day"), V{1});
  // Digits inside a version are not numbers of the text.
  EXPECT_EQ(values("days", "release notes from v2.3.0 to v2.4.0"), V{});
  // A name with no noun binds nothing.
  EXPECT_EQ(values("count", "3 reviewers"), V{});
  // A count is not taken from an identifier's "#N".
  EXPECT_EQ(values("prCount", "triage #5 PRs"), V{});
}

TEST(NumberBindingTest, NothingBoundWhenTheNounIsAbsent) {
  EXPECT_EQ(values("reviewerCount", "get two people to review PR 221 in acme/mobile"), V{});
  EXPECT_EQ(values("runCount", "Summarize why CI is failing on main in acme/checkout"), V{});
  EXPECT_EQ(values("prNumber", ""), V{});
}

TEST(NumberBindingTest, ArgumentNouns) {
  EXPECT_TRUE(is_argument_noun("issueNumber", "issue"));
  EXPECT_TRUE(is_argument_noun("issueNumber", "Issues"));
  EXPECT_TRUE(is_argument_noun("prCount", "pull requests"));
  EXPECT_TRUE(is_argument_noun("prNumber", "PR"));
  EXPECT_FALSE(is_argument_noun("prNumber", "acme"));
  EXPECT_FALSE(is_argument_noun("prNumber", "pull request 12"));
  EXPECT_FALSE(is_argument_noun("count", "count"));
  EXPECT_FALSE(is_argument_noun("issueNumber", ""));
}

}  // namespace
}  // namespace ladder
