// Black-box tests of the real build/ladder binary with the real local model (Gemma 3
// 270M through the embedded llama.cpp backend, or through llama-server) and a fake
// frontier server at the network boundary, in its own process on 127.0.0.1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_fixture.h"

namespace ladder::testing {
namespace {

TEST_F(CliTest, PolicyCheckExplainsTheExample) {
  auto r = run_process({kLadder, "policy", "check", kExample});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("policy ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("classify_issue"), std::string::npos) << r.out;
}

TEST_F(CliTest, PolicyCheckNamesLineOfBadYaml) {
  std::string bad = input_file("bad.yaml", "version: 1\nmodels:\n  x: [unclosed\n");
  auto r = run_process({kLadder, "policy", "check", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("parse_error"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.yaml:"), std::string::npos) << r.err;

  std::string text = read_file(*policy_);
  replace_all(text, "kill_switch:", "kill_swtich:");
  std::string typo = input_file("typo.yaml", text);
  r = run_process({kLadder, "policy", "check", typo});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("kill_swtich"), std::string::npos) << r.err;
}

TEST_F(CliTest, ObviousResolutionErrorIsAcceptedLocallyAsDependency) {
  auto r = route("classify_issue", "ERROR: No matching distribution found for requests==99.0\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json d = json::parse(r.out);
  EXPECT_EQ(d["route"], "local") << d.dump(2);
  EXPECT_EQ(d["label"], "dependency") << d.dump(2);
  EXPECT_EQ(d["answer"]["label"], "dependency");
  EXPECT_TRUE(d["local_json_valid"].get<bool>());
  ASSERT_TRUE(d["confidence"].is_number());
  EXPECT_GE(d["confidence"].get<double>(), 0.3);  // the example policy's min_confidence
  EXPECT_LE(d["confidence"].get<double>(), 1.0);
  EXPECT_EQ(d["tiers"][0]["backend"], "embedded");
  EXPECT_NE(d["tiers"][0]["model"].get<std::string>().find("gemma-3-270m"), std::string::npos);
  EXPECT_TRUE(frontier_requests().empty()) << "a local accept must not reach the frontier";
}

TEST_F(CliTest, CompilerErrorIsLabelledBuildAndRoutedByItsMeasuredConfidence) {
  auto r = route("classify_issue",
                 "src/net/socket.cpp:57:12: error: 'struct Conn' has no member named 'fd_'\n"
                 "make[1]: *** [Makefile:40: socket.o] Error 1\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json d = json::parse(r.out);
  ASSERT_TRUE(d["local_ran"].get<bool>());
  EXPECT_EQ(d["local_answer"]["label"], "build") << d.dump(2);
  const double confidence = d["confidence"].get<double>();
  if (confidence >= 0.3) {  // the example policy's min_confidence for classify_issue
    EXPECT_EQ(d["route"], "local") << d.dump(2);
  } else {
    EXPECT_EQ(d["route"], "frontier") << d.dump(2);
    EXPECT_EQ(d["reason"], "confidence_low");
    // the escalation packet carries the local answer up
    json reqs = frontier_requests();
    ASSERT_EQ(reqs.size(), 1u);
    json packet = json::parse(reqs[0]["body"]["messages"].back()["content"].get<std::string>());
    EXPECT_NE(packet["local_answer"].get<std::string>().find("build"), std::string::npos);
  }
}

TEST_F(CliTest, LogShowingEvidenceForTwoLabelsEscalatesBeforeTheModel) {
  // A type error and a failed-test summary in one log: no label can pass the evidence
  // check, so the router escalates without asking the local model.
  auto r = route("classify_issue",
                 "src/app.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.\n"
                 "Tests: 2 failed, 40 passed, 42 total\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json d = json::parse(r.out);
  EXPECT_FALSE(d["local_ran"].get<bool>()) << d.dump(2);
  EXPECT_EQ(d["route"], "frontier") << d.dump(2);
  EXPECT_EQ(d["reason"], "confidence_low");
  ASSERT_EQ(d["validators"].size(), 1u) << d.dump(2);
  EXPECT_EQ(d["validators"][0]["validator"], "evidence");
  EXPECT_NE(d["validators"][0]["detail"].get<std::string>().find("more than one label: build"), std::string::npos)
      << d.dump(2);
  json reqs = frontier_requests();
  ASSERT_EQ(reqs.size(), 1u);
  json packet = json::parse(reqs[0]["body"]["messages"].back()["content"].get<std::string>());
  EXPECT_EQ(packet["reason"], "confidence_low");
}

TEST_F(CliTest, HardStopEscalatesWithPacketAndAuditRedactsSecrets) {
  const std::string secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
  auto r = route("classify_issue", "git push failed: remote: Permission denied (403) for token " + secret + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json d = json::parse(r.out);
  EXPECT_EQ(d["route"], "frontier");
  // A token pasted into a log is a leaked secret: security outranks access.
  EXPECT_EQ(d["reason"], "hard_stop_security");
  EXPECT_EQ(d["hard_stop"]["category"], "security");
  EXPECT_TRUE(d["frontier_ok"].get<bool>());
  EXPECT_FALSE(d["local_ran"].get<bool>()) << "a hard stop on the input needs no local call";

  json reqs = frontier_requests();
  ASSERT_EQ(reqs.size(), 1u) << reqs.dump();
  std::string packet_text = reqs[0]["body"]["messages"].back()["content"];
  json packet = json::parse(packet_text);
  EXPECT_EQ(packet["task"], "classify_issue");
  EXPECT_EQ(packet["reason"], "hard_stop_security");
  EXPECT_NE(packet["input"].get<std::string>().find("Permission denied"), std::string::npos);
  EXPECT_EQ(packet_text.find(secret), std::string::npos) << "a token must not leave in the packet";

  std::string audit = read_file(audit_path());
  EXPECT_NE(audit.find(d["request_id"].get<std::string>()), std::string::npos);
  EXPECT_EQ(audit.find(secret), std::string::npos) << "the audit log must never hold a token";
}

TEST_F(CliTest, ShadowModeAnswersFromFrontierAndRecordsWhatLocalWouldDo) {
  std::string text = read_file(*policy_);
  replace_all(text, "\nshadow: false", "\nshadow: true");
  std::string policy = input_file("shadow.yaml", text);
  auto r = route("classify_issue", "ERROR: No matching distribution found for requests==99.0\n", {}, policy);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json d = json::parse(r.out);
  EXPECT_TRUE(d["shadow"].get<bool>()) << d.dump(2);
  EXPECT_EQ(d["shadow_route"], "local");
  EXPECT_EQ(d["route"], "frontier");
  EXPECT_TRUE(d["frontier_ok"].get<bool>());
  EXPECT_EQ(d["local_answer"]["label"], "dependency");
  EXPECT_EQ(frontier_requests().size(), 1u);
  std::string audit = read_file(audit_path());
  EXPECT_NE(audit.find("\"shadow_route\":\"local\""), std::string::npos) << audit.substr(0, 2000);
}

TEST_F(CliTest, KillSwitchSendsEverythingUp) {
  std::string text = read_file(*policy_);
  replace_all(text, "\nkill_switch: false", "\nkill_switch: true");
  std::string policy = input_file("kill.yaml", text);
  auto r = route("classify_issue", "ERROR: No matching distribution found for requests==99.0\n", {}, policy);
  json d = json::parse(r.out);
  EXPECT_EQ(d["route"], "frontier");
  EXPECT_EQ(d["reason"], "manual_override");
  EXPECT_FALSE(d["local_ran"].get<bool>());
}

TEST_F(CliTest, FrontierOnlyTaskAndUnknownTaskEscalateWithTheirReasons) {
  auto r = route("security_review", "review this diff: + exec(user_input)");
  json d = json::parse(r.out);
  EXPECT_EQ(d["reason"], "policy_requires_frontier");
  EXPECT_FALSE(d["local_ran"].get<bool>());
  r = route("no_such_task", "anything");
  d = json::parse(r.out);
  EXPECT_EQ(d["route"], "frontier");
  EXPECT_EQ(d["reason"], "unknown_task");
}

TEST_F(CliTest, LongToolChainGoesUp) {
  auto r = route("classify_issue", "error: linker failed", {"--tool-chain", "20"});
  json d = json::parse(r.out);
  EXPECT_EQ(d["route"], "frontier");
  EXPECT_EQ(d["reason"], "policy_requires_frontier");
  EXPECT_FALSE(d["local_ran"].get<bool>());
}

TEST_F(CliTest, ManualOverrideAndTooLargeInput) {
  auto r = route("classify_issue", "error: linker failed", {"--force-frontier"});
  EXPECT_EQ(json::parse(r.out)["reason"], "manual_override");
  r = route("classify_issue", std::string(200000, 'a'));
  EXPECT_EQ(json::parse(r.out)["reason"], "input_too_large");
}

TEST_F(CliTest, PrivacyKeepsHardStopInputOffTheFrontier) {
  auto r = route("classify_issue", "401 Unauthorized: credentials rejected by registry", {"--privacy"});
  EXPECT_EQ(r.exit_code, 4) << r.out;
  json d = json::parse(r.out);
  EXPECT_EQ(d["route"], "refused");
  EXPECT_EQ(d["reason"], "hard_stop_access");
  EXPECT_TRUE(frontier_requests().empty());
}

TEST_F(CliTest, FrontierFailuresAreRetriedOrReportedWithStableReasons) {
  // One 429, then success: the retry succeeds.
  ASSERT_EQ(http_request(fake_port_, "POST", "/_fail", R"({"mode":"429","count":1,"retry_after":0})", nullptr), 200);
  auto r = route("security_review", "review auth.go");
  json d = json::parse(r.out);
  EXPECT_TRUE(d["frontier_ok"].get<bool>()) << d.dump(2);
  EXPECT_EQ(frontier_requests().size(), 2u);

  // Garbage body: a stable error, exit 3, nothing crashes.
  ASSERT_EQ(http_request(fake_port_, "POST", "/_fail", R"({"mode":"garbage","count":5})", nullptr), 200);
  r = route("security_review", "review auth.go");
  EXPECT_EQ(r.exit_code, 3);
  d = json::parse(r.out);
  EXPECT_FALSE(d["frontier_ok"].get<bool>());
  EXPECT_EQ(d["frontier_error"]["code"], "bad_response") << d.dump(2);
  ASSERT_EQ(http_request(fake_port_, "POST", "/_fail", R"({"mode":"none"})", nullptr), 200);
}

TEST_F(CliTest, FrontierDownStillGivesADecision) {
  std::string policy = write_policy("down.yaml", free_port(), kModel);
  auto r = route("security_review", "review auth.go", {}, policy);
  EXPECT_EQ(r.exit_code, 3);
  json d = json::parse(r.out);
  EXPECT_EQ(d["route"], "frontier");
  EXPECT_EQ(d["frontier_error"]["code"], "unavailable") << d.dump(2);
}

TEST_F(CliTest, MissingLocalModelEscalatesAsLocalUnavailable) {
  std::string policy = write_policy("nomodel.yaml", fake_port_, *dir_ + "/missing.gguf");
  auto r = route("classify_issue", "error: expected ';' before '}' token", {}, policy);
  json d = json::parse(r.out);
  EXPECT_EQ(d["route"], "frontier");
  EXPECT_EQ(d["reason"], "local_unavailable");
  EXPECT_TRUE(d["frontier_ok"].get<bool>());
}

TEST_F(CliTest, BadInputsGiveClearErrors) {
  auto r = route("classify_issue", "bad \xff\xfe bytes");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("invalid_utf8"), std::string::npos) << r.err;
  r = route("classify_issue", "   \n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;
  r = run_process({kLadder, "route", "--policy", *policy_, "--task", "classify_issue", "--input", *dir_ + "/nope.txt"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  r = run_process({kLadder, "route", "--task", "classify_issue"});
  EXPECT_EQ(r.exit_code, 2);
  r = run_process({kLadder, "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  for (const char* bad : {"-3", "many"}) {
    r = route("classify_issue", "error: linker failed", {"--tool-chain", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("tool-chain"), std::string::npos) << r.err;
  }
  r = run_process({kLadder, "eval", "--policy", *policy_, "--corpus", kSource + "/tests/integration/data/mini.jsonl",
                   "--max-false-accepts", "lots"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("max-false-accepts"), std::string::npos) << r.err;
}

TEST_F(CliTest, RouteMacroPicksMacroAndGroundedArgs) {
  auto r = route("route_macro", "Please summarize why the CI runs failed on the main branch of octo/relay");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json d = json::parse(r.out);
  ASSERT_EQ(d["route"], "local") << d.dump(2);
  EXPECT_EQ(d["macro"], "ci_failure_summary_v1") << d.dump(2);
  EXPECT_EQ(d["args"]["owner"], "octo");
  EXPECT_EQ(d["args"]["repo"], "relay");
  EXPECT_EQ(d["args"]["branch"], "main");
  EXPECT_EQ(d["args"]["runCount"], 1);
}

TEST_F(CliTest, IrreversibleMacroRequestIsAHardStop) {
  auto r = route("route_macro", "Close all issues in acme/portal with no activity for 45 days");
  json d = json::parse(r.out);
  EXPECT_EQ(d["route"], "frontier") << d.dump(2);
  EXPECT_EQ(d["reason"], "hard_stop_production") << d.dump(2);
}

TEST_F(CliTest, EvalReportsEveryFigure) {
  auto r = run_process({kLadder, "eval", "--policy", *policy_, "--corpus",
                        kSource + "/tests/integration/data/mini.jsonl", "--json", "--audit", audit_path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json rep = json::parse(r.out);
  for (const char* key : {"cases", "false_accepts", "local_acceptance", "label_accuracy", "macro_accuracy",
                          "args_exact", "json_validity", "results", "ece", "brier", "calibration"})
    EXPECT_TRUE(rep.contains(key)) << key;
  EXPECT_EQ(rep["calibration"]["reliability"].size(), 10u);
  EXPECT_TRUE(rep["latency_ms"].contains("p50"));
  EXPECT_TRUE(rep["latency_ms"].contains("p95"));
  EXPECT_EQ(rep["cases"], 5);
  EXPECT_EQ(rep["false_accepts"], 0) << rep.dump(2);
  EXPECT_EQ(rep["results"].size(), 5u);
  EXPECT_NE(rep["local_model"].get<std::string>().find("gemma"), std::string::npos) << rep["local_model"];
}

TEST_F(CliTest, EvalRejectsMalformedCorpusNamingTheLine) {
  std::string corpus = input_file(
      "bad.jsonl",
      "{\"id\":\"a\",\"task\":\"classify_issue\",\"input\":\"x\",\"expect\":{\"route\":\"local\"}}\n{oops\n");
  auto r = run_process({kLadder, "eval", "--policy", *policy_, "--corpus", corpus});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.jsonl:2"), std::string::npos) << r.err;
}

TEST_F(CliTest, EvalRejectsEmptyCorpusDirectoryAndDuplicateIds) {
  const std::string line = R"({"id":"a","task":"classify_issue","input":"x","expect":{"route":"local"}})";
  struct Bad {
    std::string corpus;
    std::string needle;
  } bad[] = {
      {input_file("empty.jsonl", ""), "empty.jsonl: the corpus has no cases"},
      {input_file("blank.jsonl", "\n\n"), "blank.jsonl: the corpus has no cases"},
      {*dir_, "is a directory"},
      {input_file("dup.jsonl", line + "\n" + line + "\n"), "dup.jsonl:2: duplicate id 'a' (first on line 1)"},
  };
  for (const auto& b : bad) {
    auto r = run_process({kLadder, "eval", "--policy", *policy_, "--corpus", b.corpus});
    EXPECT_NE(r.exit_code, 0) << b.corpus;
    EXPECT_NE(r.err.find(b.needle), std::string::npos) << r.err;
  }
  auto r = run_process({kLadder, "eval", "--policy", *policy_, "--corpus", input_file("nosplit.jsonl", line + "\n"),
                        "--split", "check"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no case has split 'check'"), std::string::npos) << r.err;
}

TEST_F(CliTest, CalibrateRejectsEmptyCorpusAndBadFolds) {
  auto r = run_process({kLadder, "calibrate", "--policy", *policy_, "--corpus", input_file("none.jsonl", "\n")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("none.jsonl: the corpus has no cases"), std::string::npos) << r.err;
  r = run_process({kLadder, "calibrate", "--policy", *policy_, "--corpus",
                   kSource + "/tests/integration/data/mini.jsonl", "--folds", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("folds"), std::string::npos) << r.err;
  r = run_process({kLadder, "calibrate", "--policy", *policy_, "--corpus",
                   kSource + "/tests/integration/data/mini.jsonl", "--split", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no case has split 'nope'"), std::string::npos) << r.err;
  // One bad file among several is named.
  r = run_process({kLadder, "calibrate", "--policy", *policy_, "--corpus",
                   kSource + "/tests/integration/data/mini.jsonl", "--corpus",
                   input_file("broken.jsonl", "{\"id\": \"a\", \"task\": \n")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("broken.jsonl:1"), std::string::npos) << r.err;
}

TEST_F(CliTest, CalibrateFitsCorroboratedAnswersApartAndCanLeaveThresholdsOut) {
  // Logs with evidence for one label each (the example policy's evidence rules), on the
  // real model; the split keeps the held-out line out of the fit.
  const std::string corpus = input_file(
      "calib.jsonl",
      R"({"id":"d1","split":"dev","task":"classify_issue","input":"ERROR: No matching distribution found for requests==99.0","expect":{"route":"local","label":"dependency"}})"
      "\n"
      R"({"id":"d2","split":"dev","task":"classify_issue","input":"ERROR: No matching distribution found for flask==0.0.1","expect":{"route":"local","label":"dependency"}})"
      "\n"
      R"({"id":"b1","split":"dev","task":"classify_issue","input":"src/widget.c:57:9: error: 'count' undeclared\nmake: *** [Makefile:12: widget.o] Error 1","expect":{"route":"local","label":"build"}})"
      "\n"
      "\n");
  // A second file: calibrate fits on every --corpus together.
  const std::string corpus2 = input_file(
      "calib2.jsonl",
      R"({"id":"b2","split":"dev","task":"classify_issue","input":"src/lib/parse.c:88:5: error: expected ';' before 'return'\nmake: *** [Makefile:21: parse.o] Error 1","expect":{"route":"local","label":"build"}})"
      "\n"
      R"({"id":"t1","split":"dev","task":"classify_issue","input":"FAILED tests/test_api.py::test_login - AssertionError: assert 500 == 200","expect":{"route":"local","label":"test"}})"
      "\n"
      R"({"id":"x1","split":"check","task":"classify_issue","input":"not a log at all","expect":{"route":"frontier"}})"
      "\n");
  const std::string out = *dir_ + "/calib-out.json";
  auto r = run_process({kLadder, "calibrate", "--policy", *policy_, "--corpus", corpus, "--corpus", corpus2, "--split",
                        "dev", "--folds", "2", "--no-label-thresholds", "--out", out, "--audit", audit_path()});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("classify_issue (corroborated)"), std::string::npos) << r.out;
  const json file = json::parse(read_file(out));
  ASSERT_EQ(file["models"].size(), 1u);
  const json& task = file["models"].begin().value()["tasks"]["classify_issue"];
  ASSERT_TRUE(task.contains("corroborated")) << task.dump(2);
  EXPECT_GE(task["corroborated"]["samples"].get<int>(), 2);
  EXPECT_LE(task["corroborated"]["samples"].get<int>(), 5) << "only the dev split's five answers";
  // The dev split's five answers, from both files: the main mapping is fitted on the
  // uncorroborated ones, or on all five when they are fewer than the folds.
  const int main_n = task["samples"].get<int>(), own_n = task["corroborated"]["samples"].get<int>();
  EXPECT_TRUE(main_n + own_n == 5 || main_n == 5) << task.dump(2);
  EXPECT_TRUE(task["label_thresholds"].empty()) << task.dump(2);
  EXPECT_TRUE(task["corroborated"]["label_thresholds"].empty()) << task.dump(2);
}

// The local tier through llama-server (OpenAI-compatible) instead of in-process.
TEST_F(CliTest, LocalTierThroughLlamaServer) {
  const std::string server_bin = LADDER_LLAMA_SERVER;
  ASSERT_TRUE(fs::exists(server_bin)) << server_bin;
  int port = free_port();
  ServerProcess server({server_bin, "--host", "127.0.0.1", "--port", std::to_string(port), "-m", kModel, "-c", "4096",
                        "-t", "2", "--no-webui"});
  bool up = false;
  for (int i = 0; i < 120 && !up; ++i) {
    std::string body;
    up = http_request(port, "GET", "/health", "", &body) == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(up) << "llama-server did not become healthy";
  std::string text = read_file(*policy_);
  // Swap the embedded local model for an OpenAI-compatible one served by llama-server.
  auto start = text.find("  gemma-local:");
  auto end = text.find("\n  frontier:", start);
  ASSERT_NE(start, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  text.replace(start, end - start,
               "  gemma-local:\n    backend: openai\n    base_url: http://127.0.0.1:" + std::to_string(port) +
                   "\n    model: gemma-3-270m\n    request_timeout_ms: 60000");
  std::string policy = input_file("llama-server.yaml", text);
  auto r = route("classify_issue", "src/app.c:12:3: error: unknown type name 'sizet'\nmake: *** [app.o] Error 1\n", {},
                 policy);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.err << r.out;
  json d = json::parse(r.out);
  EXPECT_TRUE(d["local_ran"].get<bool>()) << d.dump(2);
  EXPECT_TRUE(d["local_json_valid"].get<bool>()) << d.dump(2);
  EXPECT_EQ(d["tiers"][0]["backend"], "openai");
  EXPECT_TRUE(d["tiers"][0]["ok"].get<bool>()) << d.dump(2);
}

}  // namespace
}  // namespace ladder::testing
