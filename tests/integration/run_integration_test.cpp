// `ladder run` and `ladder macro` end to end: the real binary, the real local model
// (Gemma 3 270M, embedded llama.cpp) routing requests to the GitHub-maintainer pack, and
// the fake GitHub API in its own process on 127.0.0.1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "process.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSource = LADDER_SOURCE_DIR;
const std::string kLadder = std::string(LADDER_BINARY_DIR) + "/ladder";
const std::string kModel = kSource + "/models/gemma-3-270m-q4_k_m.gguf";
const std::string kToken = "ghp_integrationtoken42";

class RunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("FAKE_GITHUB_TOKEN", kToken.c_str(), 1);
    setenv("GITHUB_TOKEN", kToken.c_str(), 1);
    unsetenv("ANTHROPIC_API_KEY");  // no frontier here: escalations are decided, not answered
    dir_ = new std::string(fs::temp_directory_path() / ("ladder-run-it-" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    github_ = new ServerProcess({"python3", kSource + "/tests/fakes/fake_github.py"});
    std::string line = github_->read_line(30);
    ASSERT_EQ(line.rfind("PORT ", 0), 0u) << "fake GitHub did not start: '" << line << "'";
    port_ = std::stoi(line.substr(5));
    setenv("LADDER_GITHUB_API_URL", ("http://127.0.0.1:" + std::to_string(port_)).c_str(), 1);
    std::string text = example_policy_text(kModel);
    policy_ = new std::string(*dir_ + "/policy.yaml");
    write_file(*policy_, text);
  }
  static void TearDownTestSuite() {
    delete github_;
    fs::remove_all(*dir_);
    delete dir_;
    delete policy_;
  }
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kModel)) << "run scripts/setup first: " << kModel;
    ASSERT_EQ(http_request(port_, "POST", "/_reset", "{}", nullptr), 200);
  }
  std::string audit() const { return *dir_ + "/audit.jsonl"; }
  RunResult run(std::vector<std::string> extra) {
    std::vector<std::string> argv = {kLadder, "run", "--policy", *policy_, "--audit", audit()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv);
  }
  static json requests() {
    std::string body;
    EXPECT_EQ(http_request(port_, "GET", "/_requests", "", &body), 200);
    return json::parse(body);
  }
  static std::vector<std::string> writes() {
    std::vector<std::string> out;
    for (const auto& r : requests())
      if (r["method"] != "GET") out.push_back(r["method"].get<std::string>() + " " + r["path"].get<std::string>());
    return out;
  }
  static json state(const std::string& what) {
    std::string body;
    EXPECT_EQ(http_request(port_, "GET", "/_state/acme/checkout/" + what, "", &body), 200) << body;
    return json::parse(body);
  }
  static json parse(const RunResult& r) {
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }

  static std::string* dir_;
  static std::string* policy_;
  static ServerProcess* github_;
  static int port_;
};

std::string* RunTest::dir_ = nullptr;
std::string* RunTest::policy_ = nullptr;
ServerProcess* RunTest::github_ = nullptr;
int RunTest::port_ = 0;

TEST_F(RunTest, RoutesARequestToTheStaleSweepAndLabelsOnGitHub) {
  RunResult r = run({"--json", "Find issues in acme/checkout with no activity for 90 days and label them stale"});
  json j = parse(r);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(j["decision"]["route"], "local");
  EXPECT_EQ(j["decision"]["macro"], "stale_sweep_v1");
  EXPECT_EQ(j["run"]["status"], "ok");
  EXPECT_EQ(j["run"]["args"], json({{"owner", "acme"}, {"repo", "checkout"}, {"days", 90}, {"action", "label"}}));
  // Every stale issue got the label on GitHub, and nothing else was written.
  const json& result = j["run"]["result"];
  ASSERT_GT(result["count"].get<int>(), 0) << result.dump(2);
  EXPECT_EQ(result["count"], result["stale"].size());
  for (const auto& issue : result["stale"]) {
    json stored = state("issues/" + std::to_string(issue["number"].get<int>()));
    bool labelled = false;
    for (const auto& l : stored["labels"]) labelled = labelled || l["name"] == "stale";
    EXPECT_TRUE(labelled) << "#" << issue["number"];
  }
  auto w = writes();
  EXPECT_EQ(w.size(), result["count"].get<std::size_t>());
  for (const auto& line : w) EXPECT_EQ(line.rfind("POST /repos/acme/checkout/issues/", 0), 0u) << line;
  for (const auto& rq : requests()) EXPECT_EQ(rq["headers"]["authorization"], "Bearer " + kToken);
  // The audit log holds the decision and the macro run, tied together, without the token.
  std::string log = read_file(audit());
  EXPECT_NE(log.find("\"kind\":\"macro_run\""), std::string::npos);
  EXPECT_NE(log.find(j["decision"]["request_id"].get<std::string>()), std::string::npos);
  EXPECT_EQ(log.find(kToken), std::string::npos);
}

TEST_F(RunTest, RoutesAReviewerRequestAndRequestsReviewers) {
  RunResult r = run({"--json", "Request 2 reviewers for pull request 118 in acme/checkout"});
  json j = parse(r);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(j["decision"]["macro"], "assign_reviewers_v1");
  EXPECT_EQ(j["run"]["args"]["prNumber"], 118);
  EXPECT_EQ(j["run"]["args"]["reviewerCount"], 2);
  json stored = state("issues/118");
  ASSERT_TRUE(stored.contains("requested_reviewers")) << stored.dump(2);
  EXPECT_EQ(stored["requested_reviewers"].size(), j["run"]["result"]["requested"].size());
  EXPECT_EQ(writes(), std::vector<std::string>{"POST /repos/acme/checkout/pulls/118/requested_reviewers"});
}

TEST_F(RunTest, RequestTheLocalModelCannotSettleEscalatesAndRunsNothing) {
  // The 270M model does not settle this one (its labelStrategy choice contradicts the
  // request, or its confidence is low): the request goes up with a stated reason.
  RunResult r = run({"--json", "Check the last 3 PRs in acme/checkout and tag them using conventional commits"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  json j = parse(r);
  EXPECT_EQ(j["status"], "escalated");
  EXPECT_EQ(j["decision"]["route"], "frontier");
  EXPECT_TRUE(j["decision"]["reason"].is_string());
  EXPECT_TRUE(requests().empty()) << "no macro touched GitHub";
}

TEST_F(RunTest, HumanOutputShowsDecisionPlanAndResult) {
  RunResult r = run({"--macro", "ci_failure_summary_v1", "--args", R"({"owner":"acme","repo":"checkout"})"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("macro:    ci_failure_summary_v1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("plan:"), std::string::npos);
  EXPECT_NE(r.out.find("GET http://127.0.0.1:" + std::to_string(port_) + "/repos/acme/checkout/actions/runs"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("status:   ok"), std::string::npos);
  EXPECT_TRUE(writes().empty()) << "a read-only macro writes nothing";
}

TEST_F(RunTest, HardStopRequestEscalatesWithAReasonAndRunsNothing) {
  RunResult r = run({"--json", "Rotate the production database credentials and grant admin access to bob"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  json j = parse(r);
  EXPECT_EQ(j["status"], "escalated");
  EXPECT_EQ(j["decision"]["route"], "frontier");
  EXPECT_TRUE(j["decision"]["reason"].is_string());
  EXPECT_TRUE(requests().empty()) << "no macro touched GitHub";
}

TEST_F(RunTest, IrreversibleMacroNeedsApproval) {
  const std::string args = R"({"owner":"acme","repo":"checkout","days":90,"action":"close"})";
  RunResult plan = run({"--macro", "stale_sweep_v1", "--args", args});
  EXPECT_EQ(plan.exit_code, 5) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("status:   approval_required"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("[planned, irreversible]"), std::string::npos) << plan.out;
  EXPECT_TRUE(writes().empty()) << "nothing is written without approval";

  RunResult done = run({"--json", "--approve", "--macro", "stale_sweep_v1", "--args", args});
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  json j = parse(done);
  ASSERT_GT(j["run"]["result"]["count"].get<int>(), 0) << j.dump(2);
  int closed = 0;
  for (const auto& w : writes()) closed += w.rfind("PATCH ", 0) == 0;
  EXPECT_EQ(closed, j["run"]["result"]["count"].get<int>());
  json first = j["run"]["result"]["stale"][0];
  EXPECT_EQ(state("issues/" + std::to_string(first["number"].get<int>()))["state"], "closed");
}

TEST_F(RunTest, DryRunPlansWritesWithoutSendingThem) {
  RunResult r =
      run({"--dry-run", "--macro", "repo_triage_v1", "--args",
           R"({"repositoryOwner":"acme","repositoryName":"checkout","prCount":2,"labelStrategy":"conventional"})"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("status:   dry_run"), std::string::npos) << r.out;
  EXPECT_TRUE(writes().empty());
}

TEST_F(RunTest, UpstreamFailuresComeBackAsTypedErrors) {
  std::string body;
  ASSERT_EQ(http_request(port_, "POST", "/_fail", R"({"mode":"ratelimit","count":-1,"retry_after":3600})", &body), 200);
  RunResult r = run({"--json", "--macro", "dependency_audit_v1", "--args", R"({"owner":"acme","repo":"checkout"})"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json j = parse(r);
  EXPECT_EQ(j["run"]["status"], "error");
  EXPECT_EQ(j["run"]["error"]["reason"], "rate_limited");
  EXPECT_GT(j["run"]["error"]["retry_after_ms"].get<long long>(), 3000000);

  ASSERT_EQ(http_request(port_, "POST", "/_fail", R"({"mode":"none"})", &body), 200);
  RunResult missing =
      run({"--json", "--macro", "issue_label_v1", "--args", R"({"owner":"acme","repo":"nothing","issueNumber":1})"});
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_EQ(parse(missing)["run"]["error"]["http_status"], 404);
}

TEST_F(RunTest, BadInputIsRejectedClearly) {
  RunResult not_json = run({"--macro", "stale_sweep_v1", "--args", "{owner:"});
  EXPECT_EQ(not_json.exit_code, 2);
  EXPECT_NE(not_json.err.find("--args must be a JSON object"), std::string::npos);
  RunResult unknown = run({"--macro", "deploy_v1", "--args", "{}"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("unknown_macro"), std::string::npos) << unknown.out;
  RunResult bad_args =
      run({"--macro", "stale_sweep_v1", "--args", R"({"owner":"acme","repo":"checkout","days":"soon"})"});
  EXPECT_EQ(bad_args.exit_code, 2);
  EXPECT_NE(bad_args.out.find("invalid_arguments"), std::string::npos) << bad_args.out;
  RunResult nothing = run({});
  EXPECT_EQ(nothing.exit_code, 2);
  RunResult bad_utf8 = run({std::string("close issue \xff\xfe")});
  EXPECT_EQ(bad_utf8.exit_code, 2) << bad_utf8.out << bad_utf8.err;
  EXPECT_TRUE(requests().empty());
}

TEST_F(RunTest, MacroSubcommandsRejectBadInput) {
  RunResult unknown = run_process({kLadder, "macro", "test", "--policy", *policy_, "deploy_v1"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out << unknown.err;
  EXPECT_NE(unknown.out.find("no macro named deploy_v1 is loaded"), std::string::npos) << unknown.out;
  const std::string out = *dir_ + "/recorded.json";
  RunResult bad_now =
      run_process({kLadder, "macro", "record", "--policy", *policy_, "stale_sweep_v1", "--args",
                   R"({"owner":"acme","repo":"checkout"})", "--name", "x", "--out", out, "--now", "tomorrow"});
  EXPECT_EQ(bad_now.exit_code, 2) << bad_now.out << bad_now.err;
  EXPECT_NE(bad_now.err.find("--now must be an RFC 3339 time"), std::string::npos) << bad_now.err;
  RunResult bad_args = run_process({kLadder, "macro", "record", "--policy", *policy_, "stale_sweep_v1", "--args", "[1]",
                                    "--name", "x", "--out", out});
  EXPECT_EQ(bad_args.exit_code, 2);
  EXPECT_FALSE(fs::exists(out)) << "nothing is written for rejected input";
  EXPECT_TRUE(requests().empty());
}

TEST_F(RunTest, BrokenMacroFileStopsTheLoadNamingFileAndLine) {
  std::string broken = *dir_ + "/broken_v1.yaml";
  write_file(broken,
             "id: broken_v1\nintent: x\ninput_schema: {type: object, properties: {}}\nsteps:\n  - id: s\n    http: "
             "{host: nowhere, path: /x}\n  - id: done\n    emit: {}\n");
  std::string text = read_file(*policy_);
  std::string bad_policy = *dir_ + "/bad-policy.yaml";
  replace_all(text, "macro_files: [", "macro_files: [" + broken + ", ");
  write_file(bad_policy, text);
  RunResult r = run_process({kLadder, "macro", "list", "--policy", bad_policy});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("broken_v1.yaml:5: steps[0].http.host: unknown host"), std::string::npos) << r.err;
}

TEST_F(RunTest, MacroTestReplaysEveryFixtureOfThePack) {
  RunResult r = run_process({kLadder, "macro", "test", "--policy", *policy_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json j = parse(r);
  EXPECT_EQ(j["failed"], 0);
  std::set<std::string> covered;
  for (const auto& f : j["fixtures"]) covered.insert(f["macro"].get<std::string>());
  EXPECT_EQ(covered.size(), 8u) << "every macro of the pack has fixtures";
  EXPECT_GE(j["fixtures"].size(), 24u);
  EXPECT_TRUE(requests().empty()) << "replay uses no network";
}

TEST_F(RunTest, MacroTestFailsOnAMismatch) {
  // The same macro with a fixture whose recorded result was tampered with.
  std::string src = kSource + "/examples/maintainer/macros/ci_failure_summary_v1.yaml";
  std::string text = read_file(src);
  std::string copy = *dir_ + "/ci_failure_summary_v1.yaml";
  replace_all(text, "file: fixtures/", "file: " + kSource + "/examples/maintainer/macros/fixtures/");
  write_file(copy, text);
  std::string fixture_dir = kSource + "/examples/maintainer/macros/fixtures/ci_failure_summary_v1";
  std::string first;
  for (const auto& e : fs::directory_iterator(fixture_dir)) {
    if (first.empty() || e.path().string() < first) first = e.path().string();
  }
  ASSERT_FALSE(first.empty());
  json fx = json::parse(read_file(first));
  fx["expect"]["status"] = fx["expect"]["status"] == "ok" ? "error" : "ok";
  std::string tampered = *dir_ + "/tampered.json";
  write_file(tampered, fx.dump(2));
  std::string mtext = "fixtures:\n  - file: " + tampered + "\n";
  std::string body = text.substr(0, text.find("fixtures:"));
  write_file(copy, body + mtext);
  std::string policy_text = read_file(*policy_);
  replace_all(policy_text, kSource + "/examples/maintainer/macros/ci_failure_summary_v1.yaml", copy);
  std::string p = *dir_ + "/tampered-policy.yaml";
  write_file(p, policy_text);
  RunResult r = run_process({kLadder, "macro", "test", "--policy", p, "ci_failure_summary_v1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL  ci_failure_summary_v1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("status: expected"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ladder::testing
