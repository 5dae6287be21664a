// The "evidence" validator: a classify label stays local only when the input shows
// evidence for it and for no other label (the task's `evidence:` rules, compiled once).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "answers.h"
#include "ladder/reason.h"
#include "policy/evidence.h"
#include "validators/evidence.h"
#include "validators/registry.h"

namespace ladder {
namespace {

using ::testing::HasSubstr;

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    task_.name = "triage";
    task_.kind = TaskKind::kClassify;
    task_.labels = {"build", "test", "unknown"};
    task_.escalate_labels = {"unknown"};
    task_.evidence["build"] = {{"diag-code", R"(\berror TS\d{4}\b)"}, {"lint", R"(\beslint\b)"}};
    task_.evidence["test"] = {{"counts", R"(\b\d+ failed\b)"}};
    task_.evidence["unknown"] = {{"disk", R"(no space left on device)"}};
    config_.tasks["triage"] = task_;
    auto scanner = EvidenceScanner::create(task_);
    ASSERT_TRUE(scanner.ok()) << scanner.status().to_string();
    scanner_ = std::move(scanner).value();
  }

  // Runs the whole chain on {"label": label} (probability 0.9) for `input`.
  std::vector<ValidatorResult> run(const std::string& label, std::string_view input, std::string_view original = {},
                                   const FittedCalibration* calibration = nullptr) {
    g_ = test_answers::label_answer(label, 0.9);
    ValidationContext ctx;
    ctx.config = &config_;
    ctx.task = config_.find_task("triage");
    ctx.input = input;
    ctx.original_input = original.empty() ? input : original;
    ctx.generation = &g_;
    ctx.evidence = scanner_.get();
    ctx.confidence = 0.9;
    ctx.calibration = calibration;
    auto results = run_validators(ctx);
    confidence_ = ctx.confidence;
    return results;
  }

  static const ValidatorResult* evidence_of(const std::vector<ValidatorResult>& results) {
    for (const auto& r : results)
      if (r.validator == "evidence") return &r;
    return nullptr;
  }

  TaskConfig task_;
  Config config_;
  std::unique_ptr<EvidenceScanner> scanner_;
  GenerationResult g_;
  std::optional<double> confidence_;  // the last run's confidence after the validators
};

TEST_F(EvidenceTest, ScanListsEachLabelsMatchingRules) {
  auto hits = scanner_->scan("src/a.ts(3,1): error TS2322: x\nnpx eslint .\n2 failed, 7 passed");
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits["build"], (std::vector<std::string>{"diag-code", "lint"}));
  EXPECT_EQ(hits["test"], (std::vector<std::string>{"counts"}));
  EXPECT_TRUE(scanner_->scan("all green").empty());
}

TEST_F(EvidenceTest, LabelWithItsOwnEvidenceOnlyPasses) {
  auto results = run("build", "src/a.ts(3,1): ERROR TS2322: Type 'string' is not assignable");
  const auto* r = evidence_of(results);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->passed);
  EXPECT_THAT(r->detail, HasSubstr("build (diag-code)"));
  EXPECT_FALSE(first_failure_reason(results).has_value());
}

TEST_F(EvidenceTest, LabelWithoutEvidenceEscalatesAsConfidenceLow) {
  auto results = run("test", "src/a.ts(3,1): error TS2322: bad type");
  const auto* r = evidence_of(results);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->passed);
  EXPECT_EQ(r->reason, Reason::kConfidenceLow);
  EXPECT_EQ(r->detail, "no evidence in the input for label test; it shows build (diag-code)");
  EXPECT_EQ(first_failure_reason(results), Reason::kConfidenceLow);

  auto none = run("build", "something happened");
  ASSERT_NE(evidence_of(none), nullptr);
  EXPECT_EQ(evidence_of(none)->detail, "no evidence in the input for any label");
}

TEST_F(EvidenceTest, EvidenceForASecondLabelEscalates) {
  auto results = run("build", "error TS2345 in setup\n3 failed, 10 passed");
  const auto* r = evidence_of(results);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->passed);
  EXPECT_EQ(r->reason, Reason::kConfidenceLow);
  EXPECT_THAT(r->detail, HasSubstr("more than one label: build (diag-code), test (counts)"));
}

TEST_F(EvidenceTest, EvidenceForAnEscalatingLabelEscalatesAsLabelEscalates) {
  auto results = run("build", "error TS2345\nwrite /tmp/x: no space left on device");
  const auto* r = evidence_of(results);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->passed);
  EXPECT_EQ(r->reason, Reason::kLabelEscalates);
  EXPECT_THAT(r->detail, HasSubstr("evidence for unknown, which escalates"));
}

TEST_F(EvidenceTest, ReadsTheOriginalInputNotTheReducedOne) {
  // The reducer may drop a line; evidence is looked for in what the request sent.
  auto results = run("build", "reduced: nothing decisive", "npm run lint\nerror TS1005: ';' expected");
  ASSERT_NE(evidence_of(results), nullptr);
  EXPECT_TRUE(evidence_of(results)->passed);
}

TEST_F(EvidenceTest, NotAppliedToEscalatingLabelsOrWithoutRules) {
  auto results = run("unknown", "no space left on device");
  EXPECT_EQ(evidence_of(results), nullptr);
  EXPECT_EQ(first_failure_reason(results), Reason::kLabelEscalates);  // escalate_labels' own

  scanner_.reset();
  auto plain = run("build", "nothing here");
  EXPECT_EQ(evidence_of(plain), nullptr);
}

TEST_F(EvidenceTest, RulingBeforeTheModelHoldsOnlyWhenNoLabelCanPass) {
  // What the router settles before the local model: the validator's verdict for every label.
  for (const char* input : {"error TS2345\n3 failed", "error TS2345\nno space left on device", "all quiet"}) {
    auto ruled = evidence_rules_out_every_label(task_, scanner_->scan(input));
    ASSERT_TRUE(ruled.has_value()) << input;
    EXPECT_FALSE(ruled->passed);
    EXPECT_EQ(ruled->validator, "evidence");
    for (const char* label : {"build", "test"})
      EXPECT_EQ(evidence_of(run(label, input))->reason, ruled->reason) << input << " / " << label;
  }
  EXPECT_EQ(evidence_rules_out_every_label(task_, scanner_->scan("no space left on device"))->reason,
            Reason::kLabelEscalates);
  // Evidence for one label that stays local: the model's label decides.
  EXPECT_FALSE(evidence_rules_out_every_label(task_, scanner_->scan("error TS2345 twice")).has_value());
  EXPECT_TRUE(evidence_of(run("build", "error TS2345 twice"))->passed);
  EXPECT_FALSE(evidence_of(run("test", "error TS2345 twice"))->passed);
}

// Weights: a weak rule (a tool's name) yields to another label's evidence; a rule that
// outranks a label takes the case from that label's evidence; an escalating label's
// evidence still escalates.
class WeightedEvidenceTest : public EvidenceTest {
 protected:
  void SetUp() override {
    EvidenceTest::SetUp();
    task_.labels.push_back("dependency");
    task_.evidence["dependency"] = {{"in-dep-source", R"(\.cargo/registry/)"}, {"resolve", R"(\beresolve\b)"}};
    task_.evidence_weights["lint"].weak = true;
    task_.evidence_weights["in-dep-source"].outranks = {"build"};
    config_.tasks["triage"] = task_;
    auto scanner = EvidenceScanner::create(task_);
    ASSERT_TRUE(scanner.ok()) << scanner.status().to_string();
    scanner_ = std::move(scanner).value();
  }
  EvidenceHits deciding(std::string_view input) { return deciding_evidence(task_, scanner_->scan(input)); }
};

TEST_F(WeightedEvidenceTest, AWeakRuleYieldsToAnotherLabelsEvidence) {
  const std::string log = "npm ERR! ERESOLVE could not resolve\nnpm ERR! peer eslint@8 from x";
  EXPECT_EQ(scanner_->scan(log).size(), 2u);
  EXPECT_EQ(deciding(log), (EvidenceHits{{"dependency", {"resolve"}}}));
  EXPECT_FALSE(evidence_rules_out_every_label(task_, scanner_->scan(log)).has_value());
  const auto passed = run("dependency", log);
  const auto* pass = evidence_of(passed);
  ASSERT_NE(pass, nullptr);
  EXPECT_TRUE(pass->passed);
  EXPECT_EQ(pass->detail, "evidence: dependency (resolve); outweighed: build (lint)");
  const auto failed = run("build", log);
  const auto* fail = evidence_of(failed);
  ASSERT_NE(fail, nullptr);
  EXPECT_FALSE(fail->passed);
  EXPECT_EQ(fail->reason, Reason::kConfidenceLow);
  // Alone, a weak rule corroborates its label; beside a strong rule of its own label it is
  // that label's evidence.
  EXPECT_EQ(deciding("npx eslint ."), (EvidenceHits{{"build", {"lint"}}}));
  EXPECT_TRUE(evidence_of(run("build", "npx eslint ."))->passed);
  EXPECT_EQ(deciding("eslint: error TS2322\n3 failed").size(), 2u);  // diag-code is not weak
}

TEST_F(WeightedEvidenceTest, ARuleThatOutranksALabelTakesTheCase) {
  const std::string log = "error TS2304 at /home/u/.cargo/registry/src/foo-1.2/lib.rs";
  EXPECT_EQ(deciding(log), (EvidenceHits{{"dependency", {"in-dep-source"}}}));
  EXPECT_TRUE(evidence_of(run("dependency", log))->passed);
  EXPECT_FALSE(evidence_of(run("build", log))->passed);
  // It outranks build only: a failed-test summary beside it still leaves two labels.
  const std::string with_test = log + "\n2 failed, 5 passed";
  EXPECT_EQ(deciding(with_test).size(), 2u);
  auto ruled = evidence_rules_out_every_label(task_, scanner_->scan(with_test));
  ASSERT_TRUE(ruled.has_value());
  EXPECT_EQ(ruled->reason, Reason::kConfidenceLow);
  EXPECT_THAT(ruled->detail, HasSubstr("more than one label: dependency (in-dep-source), test (counts); "
                                       "outweighed: build (diag-code)"));
  // Evidence for a label that escalates escalates whatever outranks what.
  EXPECT_EQ(evidence_rules_out_every_label(task_, scanner_->scan(log + "\nno space left on device"))->reason,
            Reason::kLabelEscalates);
}

TEST_F(WeightedEvidenceTest, RulesThatOutrankEachOtherLeaveTheHitsAsTheyWere) {
  task_.evidence_weights["diag-code"].outranks = {"dependency"};
  const std::string log = "error TS2304 at /home/u/.cargo/registry/src/foo-1.2/lib.rs";
  EXPECT_EQ(deciding(log).size(), 2u);
  EXPECT_EQ(evidence_rules_out_every_label(task_, scanner_->scan(log))->reason, Reason::kConfidenceLow);
  // Only weak rules on both sides: neither yields.
  task_.evidence_weights["resolve"].weak = true;
  EXPECT_EQ(deciding("eslint ERESOLVE").size(), 2u);
}

TEST_F(EvidenceTest, CorroboratedAnswersUseTheCalibrationsCorroboratedMapping) {
  config_.tasks["triage"].min_confidence = 0.5;
  FittedCalibration fit;
  fit.map = [](double) { return 0.1; };
  fit.method = "platt";
  auto own = std::make_shared<FittedCalibration>();
  own->map = [](double p) { return p > 0.5 ? 0.97 : 0.6; };
  own->method = "platt";
  fit.corroborated = own;

  auto corroborated = run("build", "error TS2322 in a.ts", {}, &fit);
  EXPECT_FALSE(first_failure_reason(corroborated).has_value());
  EXPECT_EQ(confidence_, 0.97);
  const ValidatorResult* confidence = nullptr;
  for (const auto& r : corroborated)
    if (r.validator == "confidence") confidence = &r;
  ASSERT_NE(confidence, nullptr);
  EXPECT_THAT(confidence->detail, HasSubstr("platt-calibrated as corroborated"));

  // The model's label without evidence: the main mapping (and the evidence check) apply.
  auto other = run("test", "error TS2322 in a.ts", {}, &fit);
  EXPECT_EQ(confidence_, 0.1);
  EXPECT_EQ(first_failure_reason(other), Reason::kConfidenceLow);

  // Without a corroborated mapping every answer uses the main one.
  fit.corroborated.reset();
  run("build", "error TS2322 in a.ts", {}, &fit);
  EXPECT_EQ(confidence_, 0.1);
}

TEST_F(EvidenceTest, PatternThatDoesNotCompileNamesTaskLabelAndRule) {
  TaskConfig bad = task_;
  bad.evidence["test"] = {{"open", "(unclosed"}};
  auto scanner = EvidenceScanner::create(bad);
  ASSERT_FALSE(scanner.ok());
  EXPECT_EQ(scanner.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_THAT(scanner.status().message(), HasSubstr("tasks.triage.evidence.test: rule \"open\" does not compile"));
}

}  // namespace
}  // namespace ladder
