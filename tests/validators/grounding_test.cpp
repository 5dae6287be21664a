#include "validators/grounding.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ladder {
namespace {

using nlohmann::json;

bool has(const std::vector<long long>& v, long long n) { return std::find(v.begin(), v.end(), n) != v.end(); }

const json kTriageSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "repositoryOwner": {"type": "string"},
    "repositoryName": {"type": "string"},
    "prCount": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
    "labelStrategy": {"type": "string", "enum": ["semantic", "conventional", "manual"], "default": "semantic"}
  }
})");

const json kCiSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "owner": {"type": "string"}, "repo": {"type": "string"},
    "branch": {"type": "string", "default": "main"},
    "runCount": {"type": "integer", "default": 1},
    "dryRun": {"type": "boolean"}
  }
})");

TEST(GroundingTest, NormalizeFoldsCaseQuotesDashesAndSpace) {
  EXPECT_EQ(normalize_for_grounding("  Acme\t\n/  Infra  "), "acme / infra");
  EXPECT_EQ(normalize_for_grounding("\xE2\x80\x9CRelease\xE2\x80\x9D \xE2\x80\x94 it\xE2\x80\x99s"),
            "\"release\" - it's");
  EXPECT_EQ(normalize_for_grounding("a\xC2\xA0"
                                    "b"),
            "a b");
}

TEST(GroundingTest, StringGroundedIgnoresCaseAndQuoteStyle) {
  EXPECT_TRUE(string_grounded("Acme", "check the last PRs in acme/checkout"));
  EXPECT_TRUE(string_grounded("it's-done",
                              "branch IT\xE2\x80\x99S\xE2\x80\x93"
                              "DONE please"));
  EXPECT_FALSE(string_grounded("globex", "check the last PRs in acme/checkout"));
  EXPECT_FALSE(string_grounded("acm", "acme/checkout"));  // no cutting through words
  EXPECT_FALSE(string_grounded("", "anything"));
}

TEST(GroundingTest, OccurrencesCountWholeWordsUpToTheBound) {
  EXPECT_EQ(occurrences_in("numpy", "numpy/numpy and NumPy", 5), 3u);
  EXPECT_EQ(occurrences_in("numpy", "numpy/numpy and NumPy", 2), 2u);
  EXPECT_EQ(occurrences_in("ci", "why is CI failing in circleci?", 5), 1u);
  EXPECT_EQ(occurrences_in("", "anything", 5), 0u);
}

TEST(GroundingTest, NumbersFromDigits) {
  auto n = numbers_in_text("label issue #482 in acme/infra#63, the last 3 PRs, v1.20");
  EXPECT_TRUE(has(n, 482));
  EXPECT_TRUE(has(n, 63));
  EXPECT_TRUE(has(n, 3));
  EXPECT_TRUE(has(n, 20));
  EXPECT_FALSE(has(n, 48));
}

TEST(GroundingTest, NumbersFromWords) {
  auto n = numbers_in_text("the last Twelve PRs, twenty-five runs, forty two days, a dozen issues, ninety, a hundred");
  EXPECT_TRUE(has(n, 12));
  EXPECT_TRUE(has(n, 25));
  EXPECT_TRUE(has(n, 42));
  EXPECT_TRUE(has(n, 90));
  EXPECT_TRUE(has(n, 100));
  EXPECT_TRUE(has(numbers_in_text("three"), 3));
  EXPECT_TRUE(has(numbers_in_text("two hundred"), 200));
  // Vague quantities state no number.
  EXPECT_TRUE(numbers_in_text("a couple of PRs, a few runs, several issues").empty());
}

TEST(GroundingTest, GroundedArgumentsPass) {
  json args = {
      {"repositoryOwner", "acme"}, {"repositoryName", "checkout"}, {"prCount", 3}, {"labelStrategy", "conventional"}};
  EXPECT_TRUE(ungrounded_arguments(args, kTriageSchema, "Check the last 3 PRs in Acme/Checkout").empty());
  json words = {{"repositoryOwner", "acme"}, {"repositoryName", "checkout"}, {"prCount", 12}};
  EXPECT_TRUE(ungrounded_arguments(words, kTriageSchema, "triage a dozen PRs of acme/checkout").empty());
}

TEST(GroundingTest, EnumArgumentMustMatchAMemberTheInputNames) {
  json semantic = {
      {"repositoryOwner", "acme"}, {"repositoryName", "checkout"}, {"prCount", 3}, {"labelStrategy", "semantic"}};
  auto bad =
      ungrounded_arguments(semantic, kTriageSchema, "Tag the last 3 PRs in acme/checkout using conventional commits");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "labelStrategy");
  json conventional = semantic;
  conventional["labelStrategy"] = "conventional";
  EXPECT_TRUE(ungrounded_arguments(conventional, kTriageSchema,
                                   "Tag the last 3 PRs in acme/checkout using Conventional commits")
                  .empty());
  // No member named: any member (or the default) stands.
  EXPECT_TRUE(ungrounded_arguments(semantic, kTriageSchema, "Tag the last 3 PRs in acme/checkout").empty());
}

TEST(GroundingTest, HallucinatedOwnerIsUngrounded) {
  json args = {{"repositoryOwner", "octocat"}, {"repositoryName", "checkout"}, {"prCount", 3}};
  auto bad = ungrounded_arguments(args, kTriageSchema, "Check the last 3 PRs in the checkout repo");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "repositoryOwner");
}

TEST(GroundingTest, UnstatedIntegerIsUngrounded) {
  json args = {{"repositoryOwner", "acme"}, {"repositoryName", "checkout"}, {"prCount", 10}};
  auto bad = ungrounded_arguments(args, kTriageSchema, "Check a couple of PRs in acme/checkout");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "prCount");
}

TEST(GroundingTest, DefaultsAreGrounded) {
  json args = {{"owner", "acme"}, {"repo", "api"}, {"branch", "main"}, {"runCount", 1}};
  EXPECT_TRUE(ungrounded_arguments(args, kCiSchema, "why is CI red in acme/api?").empty());
  json triage = {
      {"repositoryOwner", "acme"}, {"repositoryName", "checkout"}, {"prCount", 5}, {"labelStrategy", "semantic"}};
  EXPECT_TRUE(ungrounded_arguments(triage, kTriageSchema, "triage acme/checkout").empty());
}

TEST(GroundingTest, EnumsAndBooleansAreExempt) {
  json args = {{"repositoryOwner", "acme"}, {"repositoryName", "checkout"}, {"labelStrategy", "manual"}};
  EXPECT_TRUE(ungrounded_arguments(args, kTriageSchema, "triage acme/checkout").empty());
  json ci = {{"owner", "acme"}, {"repo", "api"}, {"dryRun", true}};
  EXPECT_TRUE(ungrounded_arguments(ci, kCiSchema, "acme/api ci").empty());
}

TEST(GroundingTest, IssueNumberFromHashReference) {
  const json schema = {
      {"type", "object"},
      {"properties",
       {{"owner", {{"type", "string"}}}, {"repo", {{"type", "string"}}}, {"issueNumber", {{"type", "integer"}}}}}};
  EXPECT_TRUE(ungrounded_arguments({{"owner", "acme"}, {"repo", "infra"}, {"issueNumber", 63}}, schema,
                                   "label acme/infra#63 please")
                  .empty());
  auto bad = ungrounded_arguments({{"owner", "acme"}, {"repo", "infra"}, {"issueNumber", 64}}, schema,
                                  "label acme/infra#63 please");
  EXPECT_EQ(bad, std::vector<std::string>{"issueNumber"});
}

TEST(GroundingTest, FunctionWordsAreNotValues) {
  // "label issue 318 for me": "me" occurs, but it names nobody's repository.
  const json schema = json::parse(R"({"type": "object", "properties": {"owner": {"type": "string"},
      "repo": {"type": "string"}, "issueNumber": {"type": "integer"}}})");
  auto u = ungrounded_arguments(json{{"owner", "me"}, {"repo", "sentry"}, {"issueNumber", 318}}, schema,
                                "label issue 318 in sentry for me");
  EXPECT_EQ(u, std::vector<std::string>{"owner"});
  EXPECT_TRUE(ungrounded_arguments(json{{"owner", "getsentry"}, {"repo", "sentry"}, {"issueNumber", 318}}, schema,
                                   "label issue 318 in getsentry/sentry for me")
                  .empty());
}

TEST(GroundingTest, NotAnObject) { EXPECT_FALSE(ungrounded_arguments(json::array(), kCiSchema, "x").empty()); }

}  // namespace
}  // namespace ladder
