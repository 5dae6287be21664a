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
TEST(EvalCorpusTest, EmptyCorpusIsAnError) {
  for (const char* text : {"", "\n  \n\t\n"}) {
    auto r = parse_corpus(text, "c.jsonl");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("c.jsonl: the corpus has no cases"), std::string::npos) << r.status().message();
  }
}

TEST(EvalCorpusTest, DuplicateIdNamesBothLines) {
  auto r = parse_corpus(R"({"id":"a","task":"t","input":"x","expect":{"route":"local"}}
{"id":"b","task":"t","input":"y","expect":{"route":"local"}}

{"id":"a","task":"t","input":"z","expect":{"route":"frontier"}})",
                        "c.jsonl");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("c.jsonl:4: duplicate id 'a' (first on line 1)"), std::string::npos)
      << r.status().message();
}

TEST(EvalCorpusTest, SplitIsReadAndMustBeAString) {
  auto ok = parse_corpus(R"({"id":"a","task":"t","input":"x","split":"dev","expect":{"route":"local"}}
{"id":"b","task":"t","input":"y","expect":{"route":"local"}})",
                         "c.jsonl");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)[0].split, "dev");
  EXPECT_FALSE((*ok)[1].split.has_value());
  auto bad = parse_corpus(R"({"id":"a","task":"t","input":"x","split":3,"expect":{"route":"local"}})", "c.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("c.jsonl:1: split: expected a string"), std::string::npos);
}

CaseOutcome scored(const std::string& task, const std::string& expect_route, const std::string& label,
                   const std::string& expect_label, double confidence) {
  CaseOutcome o;
  o.id = task + std::to_string(confidence);
  o.task = task;
  o.expect_route = expect_route;
  o.route = "local";
  o.label = label;
  o.expect_label = expect_label;
  o.local_ran = true;
  o.json_valid = true;
  o.confidence = confidence;
  return o;
}

TEST(EvalCalibrationTest, EceBrierAndBinsOfAKnownCase) {
  // Bin [0.9, 1.0): 0.95 right, 0.95 wrong -> accuracy 0.5, |0.95 - 0.5| = 0.45.
  // Bin [0.2, 0.3): 0.25 wrong -> accuracy 0, |0.25 - 0| = 0.25.
  // Bin [0.6, 0.7): 0.65 right -> |0.65 - 1| = 0.35.
  std::vector<CaseOutcome> outcomes = {
      scored("classify_issue", "local", "bug", "bug", 0.95),
      scored("classify_issue", "local", "feature", "bug", 0.95),
      scored("classify_issue", "frontier", "bug", "", 0.25),
      scored("classify_issue", "local", "question", "question", 0.65),
  };
  CaseOutcome no_conf = scored("classify_issue", "local", "bug", "bug", 0.5);
  no_conf.confidence.reset();
  outcomes.push_back(no_conf);  // not counted
  auto cal = calibration_report(outcomes);
  EXPECT_EQ(cal["cases"], 4);
  EXPECT_NEAR(cal["ece"].get<double>(), (2 * 0.45 + 0.25 + 0.35) / 4, 1e-12);
  const double brier = (0.05 * 0.05 + 0.95 * 0.95 + 0.25 * 0.25 + 0.35 * 0.35) / 4;
  EXPECT_NEAR(cal["brier"].get<double>(), brier, 1e-12);
  ASSERT_EQ(cal["reliability"].size(), 10u);
  EXPECT_EQ(cal["reliability"][9]["n"], 2);
  EXPECT_NEAR(cal["reliability"][9]["accuracy"].get<double>(), 0.5, 1e-12);
  EXPECT_EQ(cal["reliability"][2]["n"], 1);
  EXPECT_EQ(cal["reliability"][0]["n"], 0);
  EXPECT_FALSE(cal["reliability"][0].contains("accuracy"));
  // A wrong answer at 0.95 leaves no threshold with 0 false accepts.
  EXPECT_TRUE(cal["by_task"]["classify_issue"]["threshold_zero_false_accepts"].is_null());
  EXPECT_EQ(cal["by_task"]["classify_issue"]["acceptance"], 0.0);
  auto report = make_report(outcomes);
  EXPECT_EQ(report["ece"], cal["ece"]);
  EXPECT_EQ(report["brier"], cal["brier"]);
}

TEST(EvalCalibrationTest, LowestThresholdWithNoFalseAccepts) {
  std::vector<CaseOutcome> outcomes = {
      scored("classify_issue", "local", "bug", "bug", 0.9), scored("classify_issue", "local", "bug", "bug", 0.7),
      scored("classify_issue", "local", "bug", "bug", 0.6), scored("classify_issue", "frontier", "bug", "", 0.6),
      scored("classify_issue", "local", "bug", "bug", 0.3), scored("route_macro", "local", "", "", 0.8),
      scored("route_macro", "local", "", "", 0.4),
  };
  auto cal = calibration_report(outcomes);
  // The wrong case sits at 0.6 (tied with a right one): the lowest safe threshold is 0.7,
  // accepting 2 of the 4 expected-local classify cases.
  EXPECT_EQ(cal["by_task"]["classify_issue"]["threshold_zero_false_accepts"], 0.7);
  EXPECT_EQ(cal["by_task"]["classify_issue"]["acceptance"], 0.5);
  EXPECT_EQ(cal["by_task"]["classify_issue"]["cases"], 5);
  // No wrong case: the lowest confidence seen, everything accepted.
  EXPECT_EQ(cal["by_task"]["route_macro"]["threshold_zero_false_accepts"], 0.4);
  EXPECT_EQ(cal["by_task"]["route_macro"]["acceptance"], 1.0);
}

}  // namespace ladder::cli
