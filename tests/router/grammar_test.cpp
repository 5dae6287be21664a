#include "router/grammar.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ladder {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(GrammarTest, LiteralEscapesQuotesAndControls) {
  EXPECT_EQ(gbnf_literal("ab"), "\"ab\"");
  EXPECT_EQ(gbnf_literal("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
}

TEST(GrammarTest, ClosedChoiceListsEveryChoiceOnce) {
  std::string g = closed_choice_grammar("label", {"build", "test"});
  EXPECT_EQ(g.rfind("root ::= ", 0), 0u);
  EXPECT_NE(g.find("\"\\\"build\\\"\""), std::string::npos) << g;
  EXPECT_NE(g.find("\"\\\"test\\\"\""), std::string::npos) << g;
  EXPECT_NE(g.find("{\\\"label\\\": "), std::string::npos) << g;
}

TEST(GrammarTest, TailGrammarContinuesThePrefix) {
  EXPECT_EQ(closed_choice_prefix("label"), "{\"label\": \"");
  std::string g = closed_choice_tail_grammar({"build", "say \"hi\""});
  EXPECT_EQ(g, "root ::= (\"build\" | \"say \\\\\\\"hi\\\\\\\"\") \"\\\"}\"\n") << g;
}

TEST(GrammarTest, InputSpansSplitOwnerRepoAndTrimPunctuation) {
  auto spans = input_spans("Check the last 3 PRs in acme/checkout. Then acme/infra#63, v2.4.0!");
  EXPECT_TRUE(contains(spans, "acme/checkout"));
  EXPECT_TRUE(contains(spans, "acme"));
  EXPECT_TRUE(contains(spans, "checkout"));
  EXPECT_FALSE(contains(spans, "checkout."));
  EXPECT_TRUE(contains(spans, "infra"));
  EXPECT_TRUE(contains(spans, "v2.4.0"));
  EXPECT_TRUE(contains(spans, "3"));
  // deduplicated
  EXPECT_EQ(std::count(spans.begin(), spans.end(), "acme"), 1);
}

TEST(GrammarTest, ArgumentOrderPutsRequiredFirst) {
  auto schema = nlohmann::json::parse(R"({"type":"object","required":["repositoryOwner","repositoryName"],
    "properties":{"labelStrategy":{"type":"string"},"prCount":{"type":"integer"},
    "repositoryName":{"type":"string"},"repositoryOwner":{"type":"string"}}})");
  auto order = argument_order(schema);
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order[0], "repositoryOwner");
  EXPECT_EQ(order[1], "repositoryName");
}

TEST(GrammarTest, MacroArgsDrawValuesFromInputSchemaAndDefaults) {
  auto schema = nlohmann::json::parse(R"({"type":"object","required":["repositoryOwner","repositoryName"],
    "properties":{"repositoryOwner":{"type":"string","pattern":"^[A-Za-z0-9][A-Za-z0-9-]*$"},
    "repositoryName":{"type":"string","pattern":"^[A-Za-z0-9._-]+$"},
    "prCount":{"type":"integer","minimum":1,"maximum":50,"default":5},
    "labelStrategy":{"type":"string","enum":["semantic","conventional","manual"],"default":"semantic"}}})");
  std::string g = macro_args_grammar(schema, "Check the last 3 PRs in acme/checkout, or 99 of them");
  ASSERT_FALSE(g.empty());
  EXPECT_NE(g.find("\"\\\"acme\\\"\""), std::string::npos) << g;
  EXPECT_NE(g.find("\"3\""), std::string::npos) << g;
  EXPECT_NE(g.find("\"5\""), std::string::npos) << g;   // default
  EXPECT_EQ(g.find("\"99\""), std::string::npos) << g;  // over maximum
  EXPECT_NE(g.find("\\\"conventional\\\""), std::string::npos) << g;
  // the pattern keeps "acme/checkout" (has a slash) out of repositoryOwner's values
  auto owner_rule = g.substr(g.find("arg-repositoryowner"));
  owner_rule = owner_rule.substr(owner_rule.find("::="));
  owner_rule = owner_rule.substr(0, owner_rule.find('\n'));
  EXPECT_EQ(owner_rule.find("acme/checkout"), std::string::npos) << owner_rule;
}

TEST(GrammarTest, RequiredIntegerWithNothingStatedGivesNoGrammar) {
  auto schema = nlohmann::json::parse(R"({"type":"object","required":["owner","issueNumber"],
    "properties":{"owner":{"type":"string"},"issueNumber":{"type":"integer","minimum":1}}})");
  EXPECT_EQ(macro_args_grammar(schema, "label the newest issue in acme/api"), "");
  EXPECT_NE(macro_args_grammar(schema, "label issue 12 in acme/api"), "");
}

TEST(GrammarTest, MalformedSchemaGivesNoGrammar) {
  EXPECT_EQ(macro_args_grammar(nlohmann::json::array(), "x"), "");
  EXPECT_EQ(macro_args_grammar(nlohmann::json::object(), "x"), "");
}

}  // namespace
}  // namespace ladder
