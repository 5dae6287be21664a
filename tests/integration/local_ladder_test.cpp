// A ladder of local tiers through the real binary and the real model: tier 0 unsure
// climbs to the next local tier, whose answer is checked the same way; hard stops and
// policy escalations skip every local tier; the decision, the audit record and the eval
// report say which local tier settled each case.
#include <gtest/gtest.h>

#include "cli_fixture.h"

namespace ladder::testing {
namespace {

class LocalLadderTest : public CliTest {
 protected:
  // Tier 0 (gemma-local) is made unsure of every answer by a calibration file mapping
  // each confidence to σ(-10); tier 1 (local-large) is the same model file without it.
  static std::string ladder_policy() {
    auto sha = run_process({"sha256sum", kModel});
    EXPECT_EQ(sha.exit_code, 0);
    const std::string calib = input_file(
        "unsure.json",
        R"({"format":"ladder-calibration-1","models":{")" + sha.out.substr(0, 64) +
            R"(":{"model_file":"m.gguf","tasks":{"classify_issue":{"method":"platt","platt":{"a":0,"b":-10},"isotonic":{"x":[],"y":[]},"folds":5,"samples":10,"out_of_fold":{"ece":0,"brier":0,"log_loss":0},"raw_ece":0,"label_thresholds":{}}}}}})");
    std::string text = with_calibration_file(read_file(*policy_), "");
    replace_all(
        text, "    path: " + kModel,
        "    path: " + kModel + "\n    calibration_file: " + calib +
            "\n    context_size: 4096\n    threads: 2\n  gemma-large:\n    backend: embedded\n    path: " + kModel);
    replace_all(text, "  - name: frontier\n",
                "  - name: local-large\n    local: true\n    models: [gemma-large]\n  - name: frontier\n");
    return input_file("ladder.yaml", text);
  }
};

// The shipped ladder itself: Gemma 3 270M, then Qwen2.5-Coder 0.5B, each with its own
// calibration file (keyed by its packaged model). A Go module error Gemma labels wrongly
// (the evidence names dependency) climbs to Qwen, which settles it with the evidence's label.
TEST_F(LocalLadderTest, TheShippedLadderAsksQwenWhenGemmasAnswerDoesNotPass) {
  const std::string qwen = kSource + "/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
  ASSERT_TRUE(fs::exists(qwen)) << "run scripts/setup first (it fetches the example policy's models): " << qwen;
  std::string text = example_ladder_policy_text();
  replace_all(text, "http://127.0.0.1:8089", "http://127.0.0.1:" + std::to_string(fake_port_));
  const std::string policy = input_file("shipped-ladder.yaml", text);
  auto r = route("classify_issue",
                 "go: finding github.com/getwagz/go-sdk v1.38.1\n"
                 "go: github.com/getwagz/go-sdk@v1.38.1: unknown revision v1.38.1\n"
                 "go: error loading module requirements",
                 {}, policy);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json d = json::parse(r.out);
  ASSERT_EQ(d["local_tries"].size(), 2u) << d.dump(2);
  EXPECT_EQ(d["local_tries"][0]["tier_name"], "local");
  EXPECT_FALSE(d["local_tries"][0]["accepted"].get<bool>());
  EXPECT_EQ(d["local_tries"][1]["tier_name"], "local-qwen");
  EXPECT_TRUE(d["local_tries"][1]["accepted"].get<bool>());
  EXPECT_EQ(d["route"], "local");
  EXPECT_EQ(d["local_tier"], "local-qwen");
  EXPECT_EQ(d["answer"]["label"], "dependency") << d.dump(2);
  EXPECT_EQ(frontier_requests().size(), 0u);
}

TEST_F(LocalLadderTest, AnUnsureSmallTierClimbsToTheNextLocalTier) {
  const std::string policy = ladder_policy();
  auto r = route("classify_issue", "src/app.c:12:3: error: unknown type name 'sizet'\nmake: *** [app.o] Error 1\n", {},
                 policy);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.err;
  json d = json::parse(r.out);
  ASSERT_EQ(d["local_tries"].size(), 2u) << d.dump(2);
  EXPECT_EQ(d["local_tries"][0]["tier_name"], "local");
  EXPECT_EQ(d["local_tries"][0]["reason"], "confidence_low");
  EXPECT_FALSE(d["local_tries"][0]["accepted"].get<bool>());
  EXPECT_EQ(d["local_tries"][1]["tier_name"], "local-large");
  EXPECT_EQ(d["local_tier"], "local-large");
  // Both local calls are in the tier list, the second on tier 1.
  int tier1_calls = 0;
  for (const auto& t : d["tiers"]) tier1_calls += t["tier"] == 1;
  EXPECT_GE(tier1_calls, 1) << d.dump(2);
  // Tier 1 has no calibration file: its confidence is the measured one and it faces the
  // task's min_confidence as tier 0 would.
  if (d["route"] == "local") {
    EXPECT_TRUE(d["local_tries"][1]["accepted"].get<bool>());
    EXPECT_GE(d["confidence"].get<double>(), 0.3);  // the example policy's min_confidence for classify_issue
    EXPECT_FALSE(d.contains("measured_confidence")) << d.dump(2);
  } else {
    EXPECT_TRUE(d["local_tries"][1].contains("reason")) << d.dump(2);
  }
  // The audit record says the same.
  std::string text = read_file(audit_path());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  json record = json::parse(text.substr(text.rfind('\n') + 1));
  EXPECT_EQ(record["local_tier"], "local-large") << record.dump(2);
  ASSERT_EQ(record["local_tries"].size(), 2u) << record.dump(2);
  EXPECT_EQ(record["local_tries"][0]["reason"], "confidence_low");
}

TEST_F(LocalLadderTest, HardStopsAndPolicyEscalationsSkipEveryLocalTier) {
  const std::string policy = ladder_policy();
  auto r = route("classify_issue", "remote: HTTP Basic: Access denied\nfatal: Authentication failed", {}, policy);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.err;
  json d = json::parse(r.out);
  EXPECT_EQ(d["reason"], "hard_stop_access") << d.dump(2);
  EXPECT_FALSE(d.contains("local_tries")) << d.dump(2);
  for (const auto& t : d["tiers"]) EXPECT_EQ(t["tier"], 2) << "only the frontier tier is called: " << d.dump(2);
  ASSERT_FALSE(d["tiers"].empty());
}

TEST_F(LocalLadderTest, EvalReportsWhichLocalTierSettledEachCase) {
  const std::string policy = ladder_policy();
  const std::string corpus = input_file(
      "ladder.jsonl",
      R"({"id":"l-1","task":"classify_issue","input":"src/app.c:12:3: error: unknown type name 'sizet'\nmake: *** [app.o] Error 1","expect":{"label":"build","route":"local"}})"
      "\n");
  auto r = run_process(
      {kLadder, "eval", "--policy", policy, "--corpus", corpus, "--skip-frontier", "--json", "--audit", audit_path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json rep = json::parse(r.out);
  EXPECT_EQ(rep["results"][0]["local_tier"], "local-large") << rep["results"].dump(2);
  ASSERT_TRUE(rep["by_local_tier"].contains("local-large")) << rep["by_local_tier"].dump();
  EXPECT_EQ(rep["by_local_tier"]["local-large"]["asked_last"], 1);
}

TEST_F(LocalLadderTest, CalibrateRefusesALadderWhoseLaterTiersWouldPassForTheFirst) {
  auto r = run_process(
      {kLadder, "calibrate", "--policy", ladder_policy(), "--corpus", kSource + "/tests/integration/data/mini.jsonl"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("tier 'local-large' is local too"), std::string::npos) << r.err;
}

TEST_F(LocalLadderTest, ALocalTierAfterANonLocalOneIsAPolicyError) {
  std::string text = read_file(*policy_);
  replace_all(text, "  - name: frontier\n    models: [frontier]",
              "  - name: frontier\n    models: [frontier]\n  - name: late\n    local: true\n    models: [gemma-local]");
  auto r = run_process({kLadder, "policy", "check", input_file("late.yaml", text)});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("a local tier must follow tier 0 or another local tier"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ladder::testing
