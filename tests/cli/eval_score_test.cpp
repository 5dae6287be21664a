#include "cli/eval_score.h"

#include <gtest/gtest.h>

namespace ladder::cli {
namespace {

TEST(EvalCorpusTest, ParsesLinesAndSkipsBlankOnes) {
  auto cases = parse_corpus(
      R"({"id":"a","task":"classify_issue","input":"x","expect":{"label":"build","route":"local"}}

{"id":"b","task":"route_macro","input":"y","expect":{"route":"local","macro":"m","args":{"n":3}}}
)",
      "c.jsonl");
  ASSERT_TRUE(cases.ok()) << cases.status().to_string();
  ASSERT_EQ(cases->size(), 2u);
  EXPECT_EQ((*cases)[0].expect_label, "build");
  EXPECT_EQ((*cases)[1].expect_args->at("n"), 3);
}

TEST(EvalCorpusTest, BadLinesNameTheirLine) {
  struct Bad {
    const char* text;
    const char* needle;
  } bad[] = {
      {"{\"id\":\"a\"", "c.jsonl:1: malformed JSON"},
      {"\n[1,2]", "c.jsonl:2: expected a JSON object"},
      {R"({"id":1,"task":"t","input":"x","expect":{"route":"local"}})", "id: expected a string"},
      {R"({"id":"a","task":"t","input":"x"})", "expect: expected an object"},
      {R"({"id":"a","task":"t","input":"x","expect":{"route":"maybe"}})", "expect.route"},
      {R"({"id":"a","task":"t","input":"x","expect":{"route":"local","label":5}})", "expect.label"},
      {R"({"id":"a","task":"t","input":"x","expect":{"route":"local","args":[1]}})", "expect.args"},
      {"{\"id\":\"a\",\"task\":\"t\",\"input\":\"\xff\",\"expect\":{\"route\":\"local\"}}", "malformed JSON"},
  };
  for (const auto& b : bad) {
    auto r = parse_corpus(b.text, "c.jsonl");
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(r.status().message().find(b.needle), std::string::npos) << r.status().message();
  }
}

Decision decision(const std::string& route, const std::string& label, double ms) {
  Decision d;
  d.route = route;
  d.label = label;
  d.local_ran = true;
  d.local_json_valid = true;
  d.stages.push_back({"time_to_decision", ms});
  if (route == "frontier") d.reason = Reason::kConfidenceLow;
  return d;
}

TEST(EvalReportTest, CountsFalseAcceptsAcceptanceAndAccuracy) {
  EvalCase local_build{"1", "classify_issue", "x", "local", "build", {}, {}, {}};
  EvalCase local_test{"2", "classify_issue", "x", "local", "test", {}, {}, {}};
  EvalCase must_escalate{"3", "classify_issue", "x", "frontier", "access", "hard_stop_access", {}, {}};
  EvalCase macro_case{"4", "route_macro", "x", "local", {}, {}, "m", nlohmann::json{{"n", 3}}};
  std::vector<CaseOutcome> o;
  o.push_back(score_case(local_build, decision("local", "build", 10)));
  o.push_back(score_case(local_test, decision("frontier", "", 20)));
  o.push_back(score_case(must_escalate, decision("local", "build", 30)));  // a false accept, wrong label
  Decision md = decision("local", "", 40);
  md.macro = "m";
  md.args = {{"n", 4}};
  o.push_back(score_case(macro_case, md));
  auto r = make_report(o);
  EXPECT_EQ(r["cases"], 4);
  EXPECT_EQ(r["false_accepts"], 1);
  EXPECT_DOUBLE_EQ(r["local_acceptance"].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r["label_accuracy"].get<double>(), 0.5);  // build right, build-for-access wrong
  EXPECT_DOUBLE_EQ(r["macro_accuracy"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["args_exact"].get<double>(), 0.0);  // n differs
  EXPECT_DOUBLE_EQ(r["json_validity"].get<double>(), 1.0);
  EXPECT_EQ(r["latency_ms"]["p50"], 20.0);
  EXPECT_EQ(r["latency_ms"]["p95"], 40.0);
  EXPECT_EQ(r["results"].size(), 4u);
  EXPECT_FALSE(r["results"][2]["ok"].get<bool>());
}

TEST(EvalReportTest, PercentileIsNearestRank) {
  EXPECT_EQ(percentile({}, 50), 0.0);
  EXPECT_EQ(percentile({5}, 95), 5.0);
  EXPECT_EQ(percentile({1, 2, 3, 4}, 50), 2.0);
  EXPECT_EQ(percentile({4, 3, 2, 1}, 100), 4.0);
}

TEST(EvalReportTest, RouterErrorsCountAsErrorsNotAccepts) {
  EvalCase c{"x", "classify_issue", "x", "frontier", {}, {}, {}, {}};
  auto r = make_report({error_case(c, make_error(ErrorCode::kInvalidUtf8, "bad"))});
  EXPECT_EQ(r["errors"], 1);
  EXPECT_EQ(r["false_accepts"], 0);
}

}  // namespace
}  // namespace ladder::cli
