// The evaluation tools through the real binary and the real local model: the corpus
// checked against the policy, the release gate's exit codes, --compare, ladder sweep,
// and a calibration file referenced by the policy (applied, refused when it belongs to
// another model, refused when malformed).
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <sstream>

#include "cli_fixture.h"

namespace ladder::testing {
namespace {

class EvalToolsTest : public CliTest {
 protected:
  // The test policy with `extra` appended (top-level keys) or a replacement made.
  static std::string policy_with(const std::string& name, const std::string& extra, const std::string& from = "",
                                 const std::string& to = "") {
    std::string text = read_file(*policy_);
    if (!from.empty()) {
      EXPECT_NE(text.find(from), std::string::npos) << from;
      replace_all(text, from, to);
    }
    return input_file(name, text + "\n" + extra);
  }
  // The test policy with its model's calibration_file set to `file`.
  static std::string policy_calibrated(const std::string& name, const std::string& file) {
    return input_file(name, with_calibration_file(read_file(*policy_), file));
  }
  RunResult eval(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {kLadder, "eval", "--skip-frontier", "--audit", audit_path()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv);
  }
  static std::string model_sha256() {
    auto r = run_process({"sha256sum", kModel});
    EXPECT_EQ(r.exit_code, 0);
    return r.out.substr(0, 64);
  }
};

const std::string kMini = kSource + "/tests/integration/data/mini.jsonl";
// A hard stop: escalates whatever the model says, so figures over it are known.
const std::string kHardStopLine =
    R"({"id":"h-1","task":"classify_issue","input":"osv-scanner found 2 known vulnerabilities: GHSA-xxxx-yyyy-zzzz in golang.org/x/net","expect":{"label":"security","route":"local"}})";

TEST_F(EvalToolsTest, LabelsAndMacrosOutsideThePolicyAreErrorsNamingTheLine) {
  const std::string ok = R"({"id":"a","task":"classify_issue","input":"x","expect":{"route":"local","label":"build"}})";
  struct Bad {
    std::string name, line, needle;
  } bad[] = {
      {"label.jsonl", R"({"id":"b","task":"classify_issue","input":"x","expect":{"route":"local","label":"flaky"}})",
       "label.jsonl:2: expect.label 'flaky' is not a label of task 'classify_issue' (build, test, dependency"},
      {"macro.jsonl", R"({"id":"b","task":"route_macro","input":"x","expect":{"route":"local","macro":"nope"}})",
       "macro.jsonl:2: expect.macro 'nope' is not a macro of the policy"},
      {"nolabels.jsonl", R"({"id":"b","task":"route_macro","input":"x","expect":{"route":"local","label":"build"}})",
       "nolabels.jsonl:2: expect.label 'build' given, but task 'route_macro' has no labels"},
  };
  for (const auto& b : bad) {
    auto r = eval({"--policy", *policy_, "--corpus", input_file(b.name, ok + "\n" + b.line + "\n")});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(b.needle), std::string::npos) << r.err;
    auto c = run_process({kLadder, "calibrate", "--policy", *policy_, "--corpus", *dir_ + "/" + b.name});
    EXPECT_EQ(c.exit_code, 2) << c.err;
    EXPECT_NE(c.err.find(b.needle), std::string::npos) << c.err;
  }
}

TEST_F(EvalToolsTest, GatePassesOrExitsSixNamingEachBarMissed) {
  const std::string corpus = input_file("hardstop.jsonl", kHardStopLine + "\n");
  // Defaults: the hard stop escalates, so no local answer, no false accept: nothing missed.
  auto r = eval({"--policy", *policy_, "--corpus", corpus, "--gate", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("gate: passed"), std::string::npos) << r.err;
  EXPECT_TRUE(json::parse(r.out)["gate"]["passed"].get<bool>());

  const std::string strict =
      policy_with("gate.yaml", "release_gate:\n  min_local_acceptance: 1.0\n  max_false_accepts: 0\n");
  r = eval({"--policy", strict, "--corpus", corpus, "--gate", "--json"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("gate: missed: local acceptance 0.000 < 1.000"), std::string::npos) << r.err;
  auto gate = json::parse(r.out)["gate"];
  EXPECT_FALSE(gate["passed"].get<bool>());
  ASSERT_EQ(gate["missed"].size(), 1u) << gate.dump();

  // Without --gate the same run exits 0: the gate is asked for, never implied.
  r = eval({"--policy", strict, "--corpus", corpus});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // Bad gate values are policy errors naming the key.
  const std::string bad = policy_with("badgate.yaml", "release_gate:\n  min_label_accuracy: 1.5\n");
  r = eval({"--policy", bad, "--corpus", corpus, "--gate"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("min_label_accuracy"), std::string::npos) << r.err;
  const std::string unknown = policy_with("unknowngate.yaml", "release_gate:\n  min_vibes: 0.5\n");
  r = eval({"--policy", unknown, "--corpus", corpus, "--gate"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("min_vibes"), std::string::npos) << r.err;
}

TEST_F(EvalToolsTest, CompareReportsBothPoliciesAndEachCaseDecidedDifferently) {
  const std::string killed = policy_with("killed.yaml", "", "kill_switch: false", "kill_switch: true");
  // The mini corpus plus two logs the model keeps local by a wide margin (its own local
  // case sits near the threshold, where kernels of another CPU may tip it).
  const std::string corpus = input_file(
      "compare.jsonl",
      read_file(kMini) +
          R"({"id":"dep","task":"classify_issue","input":"ERROR: No matching distribution found for requests==99.0","expect":{"route":"local","label":"dependency"}})"
          "\n"
          R"({"id":"tst","task":"classify_issue","input":"FAILED tests/test_api.py::test_login - AssertionError: assert 500 == 200","expect":{"route":"local","label":"test"}})"
          "\n");
  auto r = eval({"--policy", *policy_, "--corpus", corpus, "--compare", killed, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json out = json::parse(r.out);
  ASSERT_TRUE(out.contains("a") && out.contains("b")) << r.out;
  EXPECT_EQ(out["b"]["local_acceptance"], 0.0);
  // Every case the first policy kept local is a disagreement; no other case is.
  std::set<std::string> local_in_a;
  for (const auto& c : out["a"]["results"])
    if (c["route"] == "local") local_in_a.insert(c["id"]);
  // Listed: every case decided differently (route or reason); under the kill switch
  // that is every case not already sent up for the same reason.
  std::set<std::string> listed;
  for (const auto& d : out["disagreements"]) {
    listed.insert(d["id"]);
    EXPECT_EQ(d["b"]["route"], "frontier") << d.dump();
    EXPECT_EQ(d["b"]["reason"], "manual_override") << d.dump();
    EXPECT_NE(d["a"]["reason"], "manual_override") << d.dump();
  }
  for (const auto& id : local_in_a) EXPECT_TRUE(listed.count(id)) << id << " was local under the first policy";
  ASSERT_GE(local_in_a.size(), 2u) << "the corpus has cases the model keeps local";
  // Hard stops (i-002, i-003, i-005) escalate for their own reason under both policies.
  EXPECT_EQ(listed.count("i-005"), 0u);

  r = eval({"--policy", *policy_, "--corpus", corpus, "--compare", killed});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::to_string(listed.size()) + " case(s) decided differently"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(*local_in_a.begin()), std::string::npos) << r.out;

  r = eval({"--policy", *policy_, "--corpus", kMini, "--compare", *dir_ + "/missing.yaml"});
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(EvalToolsTest, SweepAtThePolicysThresholdAgreesWithEval) {
  // Classify lines only, so one threshold is the policy's for every line.
  std::string classify, line;
  std::istringstream mini(read_file(kMini));
  while (std::getline(mini, line))
    if (line.find("\"classify_issue\"") != std::string::npos) classify += line + "\n";
  const std::string corpus = input_file("classify.jsonl", classify);
  auto e = eval({"--policy", *policy_, "--corpus", corpus, "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  json report = json::parse(e.out);

  auto s = run_process({kLadder, "sweep", "--policy", *policy_, "--corpus", corpus, "--thresholds", "0,0.3,1",
                        "--temperatures", "1,2", "--json"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  json sweep = json::parse(s.out);
  // 1 model x 2 calibrations (none, the policy's file) x 2 temperatures x 3 thresholds
  ASSERT_EQ(sweep["rows"].size(), 12u) << s.out;
  bool found = false;
  double last_acceptance = 2.0;
  for (const auto& row : sweep["rows"]) {
    if (row["temperature"] != 1.0 || row["calibration"] != "file") continue;  // as the policy routes
    EXPECT_LE(row["local_acceptance"].get<double>(), last_acceptance) << "acceptance falls as the bar rises";
    last_acceptance = row["local_acceptance"].get<double>();
    if (row["threshold"] != 0.3) continue;  // the example policy's min_confidence for classify_issue
    found = true;
    EXPECT_EQ(row["false_accepts"], report["false_accepts"]) << row.dump();
    EXPECT_DOUBLE_EQ(row["local_acceptance"].get<double>(), report["local_acceptance"].get<double>()) << row.dump();
    EXPECT_DOUBLE_EQ(row["label_accuracy"].get<double>(), report["label_accuracy"].get<double>()) << row.dump();
  }
  EXPECT_TRUE(found);

  auto bad = run_process({kLadder, "sweep", "--policy", *policy_, "--corpus", corpus, "--model", "no-such-model"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("neither a model of the policy nor a file"), std::string::npos) << bad.err;
  bad = run_process({kLadder, "sweep", "--policy", *policy_, "--corpus", corpus, "--task", "nothing"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  bad = run_process({kLadder, "sweep", "--policy", *policy_, "--corpus", corpus, "--thresholds", "2"});
  EXPECT_NE(bad.exit_code, 0);
}

TEST_F(EvalToolsTest, PolicyCalibrationFileIsAppliedAndForeignOrMalformedFilesAreRefused) {
  auto file_for = [&](const std::string& name, const std::string& sha, double a, double b,
                      const std::string& thresholds) {
    return input_file(
        name,
        R"({"format":"ladder-calibration-1","models":{")" + sha +
            R"(":{"model_file":"m.gguf","tasks":{"classify_issue":{"method":"platt","platt":{"a":)" +
            std::to_string(a) + R"(,"b":)" + std::to_string(b) +
            R"(},"isotonic":{"x":[],"y":[]},"folds":5,"samples":10,"out_of_fold":{"ece":0,"brier":0,"log_loss":0},"raw_ece":0,"label_thresholds":)" +
            thresholds + "}}}}}");
  };
  const std::string sha = model_sha256();
  const std::string input = "src/app.c:12:3: error: unknown type name 'sizet'\nmake: *** [app.o] Error 1\n";
  // Platt with a = 0, b = -10: every answer's calibrated confidence is σ(-10), far below the bar.
  const std::string low = policy_calibrated("cal-low.yaml", file_for("low.json", sha, 0.0, -10.0, "{}"));
  auto r = route("classify_issue", input, {}, low);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.err;
  json d = json::parse(r.out);
  ASSERT_TRUE(d["local_ran"].get<bool>()) << d.dump(2);
  ASSERT_TRUE(d.contains("measured_confidence")) << d.dump(2);
  EXPECT_NEAR(d["confidence"].get<double>(), 1.0 / (1.0 + std::exp(10.0)), 1e-9);
  EXPECT_EQ(d["route"], "frontier");
  EXPECT_EQ(d["reason"], "confidence_low");

  // Per-label thresholds: a label without one never stays local.
  const std::string none =
      policy_calibrated("cal-nolabel.yaml", file_for("nolabel.json", sha, 1.0, 0.0, R"({"zzz":0.1})"));
  r = route("classify_issue", input, {}, none);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.err;
  d = json::parse(r.out);
  EXPECT_EQ(d["route"], "frontier") << d.dump(2);
  EXPECT_NE(d.dump().find("no safe threshold"), std::string::npos) << d.dump(2);

  // Another model's calibration: refused, naming the model and the hashes the file holds.
  const std::string other(64, 'a');
  const std::string foreign = policy_calibrated("cal-foreign.yaml", file_for("foreign.json", other, 1.0, 0.0, "{}"));
  r = route("classify_issue", input, {}, foreign);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("model 'gemma-local'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(other), std::string::npos) << r.err;

  const std::string malformed = policy_calibrated("cal-bad.yaml", input_file("bad.json", "{not json"));
  r = route("classify_issue", input, {}, malformed);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("malformed JSON"), std::string::npos) << r.err;

  const std::string missing = policy_calibrated("cal-missing.yaml", *dir_ + "/nope.json");
  r = route("classify_issue", input, {}, missing);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("nope.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ladder::testing
