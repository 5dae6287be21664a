#include "macros/expr.h"

#include <gtest/gtest.h>

namespace ladder::macros {
namespace {

using nlohmann::json;

const json kScope = {
    {"args", {{"owner", "acme"}, {"repo", "check out/é"}, {"count", 3}}},
    {"steps", {{"pulls", json::array({{{"number", 7}, {"title", "feat: x"}}, {{"number", 9}, {"title", "Fix"}}})}}},
    {"now", "2026-11-01T00:00:00Z"},
    {"pr",
     {{"number", 7},
      {"draft", false},
      {"labels", json::array({"bug", "ui"})},
      {"updated_at", "2026-07-01T00:00:00Z"}}}};

TEST(Template, RendersDottedNamesAndNumbers) {
  auto r = render_template("/repos/{{args.owner}}/x/{{args.count}}/{{pr.number}}", kScope);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "/repos/acme/x/3/7");
}

TEST(Template, UrlEscapePercentEncodesValuesNotTheTemplate) {
  auto r = render_template("/repos/{{args.owner}}/{{args.repo}}", kScope, Escape::kUrlComponent);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "/repos/acme/check%20out%2F%C3%A9");
}

TEST(Template, MissingVariableIsAnErrorNotAnEmptyString) {
  auto r = render_template("/repos/{{args.missing}}", kScope);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("args.missing"), std::string::npos);
}

TEST(Template, SectionsIterateLists) {
  auto r = render_template("{{#steps.pulls}}#{{number}} {{/steps.pulls}}", kScope);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "#7 #9 ");
}

TEST(Template, MalformedTemplateIsReportedAtLoad) {
  EXPECT_FALSE(check_template("{{#open}} never closed").empty());
  EXPECT_TRUE(check_template("{{args.owner}}").empty());
  EXPECT_TRUE(check_template("no template").empty());
}

TEST(Value, RefKeepsTypesAndDefaultCoversMissing) {
  auto v = eval_value(
      json{{"n", {{"ref", "/args/count"}}}, {"list", {{"ref", "/pr/labels"}}}, {"text", "{{args.owner}}!"}}, kScope);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)["n"], 3);
  EXPECT_EQ((*v)["list"], json::array({"bug", "ui"}));
  EXPECT_EQ((*v)["text"], "acme!");
  auto missing = eval_value(json{{"ref", "/args/nope"}}, kScope);
  EXPECT_FALSE(missing.ok());
  auto dflt = eval_value(json{{"ref", "/args/nope"}, {"default", 5}}, kScope);
  ASSERT_TRUE(dflt.ok());
  EXPECT_EQ(*dflt, 5);
}

TEST(Value, LiteralIsNotEvaluated) {
  auto v = eval_value(json{{"literal", {{"ref", "/args/owner"}, {"t", "{{x}}"}}}}, kScope);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)["ref"], "/args/owner");
  EXPECT_EQ((*v)["t"], "{{x}}");
}

TEST(Value, LengthOfAndTest) {
  auto v = eval_value(json{{"n", {{"length_of", {{"ref", "/pr/labels"}}}}},
                           {"chars", {{"length_of", "{{args.owner}}"}}},
                           {"none", {{"length_of", nullptr}}},
                           {"is_acme", {{"test", {{"ref", "/args/owner"}, {"equals", "acme"}}}}}},
                      kScope);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ((*v)["n"], 2);
  EXPECT_EQ((*v)["chars"], 4);
  EXPECT_EQ((*v)["none"], 0);
  EXPECT_EQ((*v)["is_acme"], true);
  EXPECT_FALSE(eval_value(json{{"length_of", 5}}, kScope).ok());
  EXPECT_FALSE(check_value(json{{"test", {{"ref", "/a"}, {"equal", 1}}}}).empty());
  EXPECT_FALSE(check_value(json{{"length_of", {{"ref", "a"}}}}).empty());
}

TEST(Value, ChecksFindBadPointersAndKeys) {
  EXPECT_FALSE(check_value(json{{"ref", "args/owner"}}).empty());
  EXPECT_FALSE(check_value(json{{"ref", "/a"}, {"extra", 1}}).empty());
  EXPECT_FALSE(check_value(json{{"literal", 1}, {"other", 2}}).empty());
  EXPECT_TRUE(check_value(json{{"a", {{"ref", "/x"}, {"default", nullptr}}}}).empty());
}

bool pred(const json& p) {
  auto r = eval_predicate(p, kScope);
  EXPECT_TRUE(r.ok()) << p.dump() << ": " << r.status().message();
  return r.ok() && *r;
}

TEST(Predicate, Comparisons) {
  EXPECT_TRUE(pred({{"ref", "/args/owner"}, {"equals", "acme"}}));
  EXPECT_FALSE(pred({{"ref", "/args/owner"}, {"not_equals", "acme"}}));
  EXPECT_TRUE(pred({{"ref", "/args/count"}, {"equals", 3.0}}));
  EXPECT_TRUE(pred({{"ref", "/args/owner"}, {"in", {"x", "acme"}}}));
  EXPECT_TRUE(pred({{"ref", "/args/owner"}, {"not_in", {"x"}}}));
  EXPECT_TRUE(pred({{"ref", "/pr/labels"}, {"contains", "bug"}}));
  EXPECT_TRUE(pred({{"ref", "/args/repo"}, {"contains", "out"}}));
  EXPECT_TRUE(pred({{"ref", "/steps/pulls/0/title"}, {"matches", "^feat"}}));
  EXPECT_TRUE(pred({{"ref", "/pr/pull_request"}, {"exists", false}}));
  EXPECT_TRUE(pred({{"ref", "/pr/labels"}, {"empty", false}}));
  EXPECT_TRUE(pred({{"ref", "/args/count"}, {"gt", 2}}));
  EXPECT_FALSE(pred({{"ref", "/args/count"}, {"lt", 3}}));
  EXPECT_TRUE(pred({{"ref", "/args/count"}, {"lte", {{"ref", "/args/count"}}}}));
  EXPECT_TRUE(pred({{"value", "{{args.owner}}-x"}, {"equals", "acme-x"}}));
}

TEST(Predicate, AgesAgainstTheScopeClock) {
  EXPECT_TRUE(pred({{"ref", "/pr/updated_at"}, {"older_than_days", 60}}));
  EXPECT_FALSE(pred({{"ref", "/pr/updated_at"}, {"older_than_days", 200}}));
  EXPECT_TRUE(pred({{"ref", "/pr/updated_at"}, {"newer_than_days", 200}}));
  json no_clock = kScope;
  no_clock.erase("now");
  EXPECT_FALSE(eval_predicate({{"ref", "/pr/updated_at"}, {"older_than_days", 1}}, no_clock).ok());
}

TEST(Predicate, Combinators) {
  json t = {{"ref", "/args/owner"}, {"equals", "acme"}};
  json f = {{"ref", "/args/owner"}, {"equals", "other"}};
  EXPECT_TRUE(pred({{"all", {t, t}}}));
  EXPECT_FALSE(pred({{"all", {t, f}}}));
  EXPECT_TRUE(pred({{"any", {f, t}}}));
  EXPECT_TRUE(pred({{"not", f}}));
  EXPECT_TRUE(pred(true));
  EXPECT_TRUE(pred(nullptr));
}

TEST(Predicate, ChecksFindShapeErrors) {
  EXPECT_FALSE(check_predicate(json{{"ref", "/a"}, {"equal", 1}}).empty());  // unknown operator
  EXPECT_FALSE(check_predicate(json{{"ref", "/a"}}).empty());                // no operator
  EXPECT_FALSE(check_predicate(json{{"ref", "/a"}, {"equals", 1}, {"gt", 0}}).empty());
  EXPECT_FALSE(check_predicate(json{{"ref", "/a"}, {"matches", "("}}).empty());  // bad regex
  EXPECT_FALSE(check_predicate(json{{"all", json::array()}}).empty());
  EXPECT_FALSE(check_predicate(json("yes")).empty());
  EXPECT_FALSE(check_predicate(json{{"ref", "/a"}, {"exists", "yes"}}).empty());
  EXPECT_TRUE(check_predicate(json{{"any", {{{"ref", "/a"}, {"exists", true}}, true}}}).empty());
}

TEST(Timestamp, ParsesRfc3339WithOffsetsAndFractions) {
  long long a = 0;
  long long b = 0;
  long long c = 0;
  ASSERT_TRUE(parse_timestamp("2026-11-01T12:00:00Z", a));
  ASSERT_TRUE(parse_timestamp("2026-11-01T14:00:00.123+02:00", b));
  ASSERT_TRUE(parse_timestamp("2026-11-01T07:00:00-05:00", c));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_EQ(format_timestamp(a), "2026-11-01T12:00:00Z");
  EXPECT_FALSE(parse_timestamp("yesterday", a));
  EXPECT_FALSE(parse_timestamp("2026-11-01T12:00:00", a));
  EXPECT_FALSE(parse_timestamp("2026-11-01T12:00:00Zjunk", a));
}

}  // namespace
}  // namespace ladder::macros
