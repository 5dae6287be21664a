// POST /v1/run through `ladder serve` (docs/server.md, Macro runs): a macro's HTTP steps go
// out on the server's one upstream client, whose kept-alive connections serve every run,
// and a step against an upstream that is down fails with a stable reason while the server
// goes on. The real binary, the fake GitHub API and fake model tiers in their own
// processes (no embedded model).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "process.h"
#include "serve_client.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kGitHubToken = "ghp_serveruntoken42";
const json kCiSummary = {{"macro", "ci_failure_summary_v1"}, {"args", {{"owner", "acme"}, {"repo", "checkout"}}}};

// The value of an unlabelled sample in a /metrics text; 0 when absent.
double sample(const std::string& metrics, const std::string& name) {
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  return 0.0;
}

class ServeRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ladder-serve-run-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    setenv("FAKE_GITHUB_TOKEN", kGitHubToken.c_str(), 1);
    setenv("GITHUB_TOKEN", kGitHubToken.c_str(), 1);
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-not-secret", 1);
    github_ =
        std::make_unique<ServerProcess>(std::vector<std::string>{"python3", kSource + "/tests/fakes/fake_github.py"});
    const std::string line = github_->read_line(30);
    ASSERT_EQ(line.rfind("PORT ", 0), 0u) << "fake GitHub did not start: '" << line << "'";
    github_port_ = std::stoi(line.substr(5));
    ASSERT_GT(local_.port, 0);
    ASSERT_GT(frontier_.port, 0);
    write_file(dir_ / "policy.yaml", fake_tiers_policy_text(frontier_.port, local_.port));
  }
  void TearDown() override {
    serve_.reset();
    unsetenv("LADDER_GITHUB_API_URL");
    fs::remove_all(dir_);
  }
  // `ladder serve` with the macros' GitHub at `github_url`.
  void start_serve(const std::string& github_url) {
    setenv("LADDER_GITHUB_API_URL", github_url.c_str(), 1);
    serve_ =
        std::make_unique<Serve>(std::vector<std::string>{"--audit", dir_ / "audit.jsonl", "--health-interval-ms", "0"},
                                dir_ / "policy.yaml", dir_ / "stderr.log");
    ASSERT_GT(serve_->port, 0) << read_file(dir_ / "stderr.log");
  }
  json github_requests() const {
    std::string body;
    EXPECT_EQ(http_request(github_port_, "GET", "/_requests", "", &body), 200);
    return json::parse(body);
  }
  // The audit records once the server has stopped (and so written them all).
  std::vector<json> audit_after_stop() {
    serve_.reset();
    std::vector<json> out;
    std::istringstream in(read_file(dir_ / "audit.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }

  fs::path dir_;
  Fake local_;
  Fake frontier_;
  std::unique_ptr<ServerProcess> github_;
  int github_port_ = 0;
  std::unique_ptr<Serve> serve_;
};

TEST_F(ServeRunTest, MacroHttpStepsReuseTheServersKeptAliveConnections) {
  start_serve("http://127.0.0.1:" + std::to_string(github_port_));
  const std::string before = serve_->get("/metrics").body;
  Response first = serve_->post("/v1/run", kCiSummary);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json_body()["status"], "ok") << first.body;
  const json after_first = github_requests();
  Response second = serve_->post("/v1/run", kCiSummary);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json_body()["status"], "ok") << second.body;
  const json all = github_requests();
  const std::string after = serve_->get("/metrics").body;

  ASSERT_GE(after_first.size(), 2u) << "the macro lists the failed runs, then each run's jobs";
  ASSERT_EQ(all.size(), 2 * after_first.size()) << all.dump(1);
  std::set<int> first_ports, ports;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i]["headers"]["authorization"], "Bearer " + kGitHubToken);
    ports.insert(all[i]["peer_port"].get<int>());
    if (i < after_first.size()) first_ports.insert(all[i]["peer_port"].get<int>());
  }
  EXPECT_LT(ports.size(), all.size()) << "requests shared kept-alive connections";
  EXPECT_EQ(ports, first_ports) << "the second run went out on the first run's connections";
  // Those connections are the server's own client's: its counters moved by exactly them.
  const double opened = sample(after, "ladder_upstream_connections_opened_total") -
                        sample(before, "ladder_upstream_connections_opened_total");
  const double reused =
      sample(after, "ladder_upstream_requests_reused_total") - sample(before, "ladder_upstream_requests_reused_total");
  EXPECT_EQ(opened, static_cast<double>(ports.size())) << after;
  EXPECT_GE(reused, static_cast<double>(all.size() - ports.size())) << after;
  EXPECT_GE(sample(after, "ladder_upstream_idle_connections"), 1.0) << "kept for the next run";
}

TEST_F(ServeRunTest, AStepAgainstAnUpstreamThatIsDownFailsWithAStableReasonAndTheServerGoesOn) {
  const std::string down = "http://127.0.0.1:" + std::to_string(free_port());
  start_serve(down);
  Response r = serve_->post("/v1/run", kCiSummary);
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.json_body();
  EXPECT_EQ(j["status"], "error") << r.body;
  EXPECT_EQ(j["run"]["error"]["step"], "runs") << r.body;
  EXPECT_EQ(j["run"]["error"]["reason"], "unavailable") << r.body;
  EXPECT_NE(j["run"]["error"]["message"].get<std::string>().find(down), std::string::npos)
      << "names where it tried: " << r.body;

  // The server goes on: health, a bad body, and the next run. Its third try finds the
  // host's circuit open (five failures in a row, three of them the first run's): stated
  // as such, with no call.
  EXPECT_EQ(serve_->get("/healthz").status, 200);
  Response bad = serve_->post("/v1/run", {{"macro", "ci_failure_summary_v1"}, {"args", "acme"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  Response again = serve_->post("/v1/run", kCiSummary);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json_body()["status"], "error") << again.body;
  EXPECT_EQ(again.json_body()["run"]["error"]["reason"], "circuit_open") << again.body;
  EXPECT_TRUE(github_requests().empty());

  std::vector<std::string> reasons;
  for (const json& rec : audit_after_stop())
    if (rec.value("kind", "") == "macro_run") reasons.push_back(rec["error"]["reason"].get<std::string>());
  EXPECT_EQ(reasons, (std::vector<std::string>{"unavailable", "circuit_open"})) << "one record per run";
}

}  // namespace
}  // namespace ladder::testing
