// How faults reach the clients of `ladder serve`: the real binary, its local tier and its
// frontier on two fake_frontier.py processes, one server per test (no embedded model, so
// each starts in well under a second).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "process.h"
#include "serve_client.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSecret = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";

class ServeFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ladder-serve-faults-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ASSERT_GT(local_.port, 0);
    ASSERT_GT(frontier_.port, 0);
  }
  void TearDown() override {
    serve_.reset();
    fs::remove_all(dir_);
  }

  // Local tier `small` on one fake, tier `frontier` at `frontier_url` (the other fake
  // unless given); task `review` never runs locally. No retries.
  void start(const std::string& frontier_url = "", const std::string& frontier_extra = "",
             const std::string& policy_extra = "", std::vector<std::string> args = {}) {
    const std::string url = frontier_url.empty() ? "http://127.0.0.1:" + std::to_string(frontier_.port) : frontier_url;
    write_file(dir_ / "policy.yaml",
               "version: 1\nmodels:\n  small:\n    backend: openai\n    base_url: http://127.0.0.1:" +
                   std::to_string(local_.port) +
                   "\n    model: small\n    retry: {max_retries: 0}\n  frontier:\n    backend: openai\n"
                   "    base_url: " +
                   url + "\n    model: big\n    connect_timeout_ms: 500\n    retry: {max_retries: 0}\n" +
                   frontier_extra +
                   "tiers:\n  - name: local\n    models: [small]\n  - name: frontier\n    models: [frontier]\n"
                   "tasks:\n  review:\n    kind: generate\n    local: false\n" +
                   policy_extra);
    if (std::find(args.begin(), args.end(), "--audit") == args.end()) {
      args.push_back("--audit");
      args.push_back(dir_ / "audit.jsonl");
    }
    args.push_back("--health-interval-ms");
    args.push_back("0");
    serve_ = std::make_unique<Serve>(args, dir_ / "policy.yaml", dir_ / "stderr.log");
    ASSERT_GT(serve_->port, 0) << "ladder serve did not start: " << read_file(dir_ / "stderr.log");
  }
  Response chat(const std::string& model, json extra = json::object()) const {
    return http(serve_->port, "POST", "/v1/chat/completions", chat_body(model, "review auth.go", extra).dump());
  }

  fs::path dir_;
  Fake local_;
  Fake frontier_;
  std::unique_ptr<Serve> serve_;
};

// Item 2: the frontier's 429 and its Retry-After reach the client, streamed or not.
TEST_F(ServeFaultsTest, RateLimitedEscalationIs429WithRetryAfter) {
  start();
  for (const bool stream : {false, true}) {
    frontier_.control("/_fail", {{"mode", "429"}, {"count", 1}, {"retry_after", 30}});
    Response r = chat("ladder/review", {{"stream", stream}});
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.header("retry-after"), "30") << r.body;
    EXPECT_EQ(r.json_body()["error"]["code"], "rate_limited") << r.body;
    EXPECT_EQ(r.json_body()["error"]["type"], "rate_limit_error") << r.body;
    EXPECT_EQ(r.header("x-ladder-route"), "frontier");
  }
}

// Items 6, 1 and 3: a frontier down at a distinctive URL. No client-facing body names its
// host, port or path; three failed calls mark it down with no probe; /readyz stays 200
// and lists it.
TEST_F(ServeFaultsTest, FrontierDownLeaksNoAddressAndLeavesTheReplicaReady) {
  const std::string port = std::to_string(free_port());
  start("http://127.0.0.1:" + port + "/distinctive-prefix-4711");
  auto expect_no_address = [&](const Response& r) {
    EXPECT_EQ(r.body.find("127.0.0.1"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(":" + port), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("distinctive-prefix"), std::string::npos) << r.body;
  };
  Response routed = chat("ladder/review");
  EXPECT_EQ(routed.status, 503) << routed.body;
  EXPECT_EQ(routed.json_body()["error"]["code"], "unavailable");
  expect_no_address(routed);
  Response native = http(serve_->port, "POST", "/v1/route", json{{"task", "review"}, {"input", "x"}}.dump());
  EXPECT_EQ(native.status, 200) << native.body;
  EXPECT_EQ(native.json_body()["decision"]["frontier_error"]["code"], "unavailable") << native.body;
  expect_no_address(native);
  Response passed = chat("frontier");
  EXPECT_EQ(passed.status, 503) << passed.body;
  expect_no_address(passed);

  Response ready = http(serve_->port, "GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.json_body()["down"], json::array({"frontier"})) << ready.body;
  expect_no_address(ready);
  Response skipped = chat("ladder/review");
  EXPECT_EQ(skipped.status, 503) << skipped.body;
  EXPECT_NE(skipped.json_body()["error"]["message"].get<std::string>().find("marked down"), std::string::npos)
      << skipped.body;
  EXPECT_FALSE(skipped.header("retry-after").empty()) << "the cool-down is the client's wait";
  // The server log keeps the address for the operator.
  EXPECT_NE(read_file(dir_ / "stderr.log").find("distinctive-prefix-4711"), std::string::npos);
}

// Item 4: a missing frontier key is the server's fault (503, SDKs may retry elsewhere),
// and `ladder serve` says so when it starts.
TEST_F(ServeFaultsTest, MissingKeyIsA503AndWarnedAtStart) {
  unsetenv("LADDER_TEST_FRONTIER_KEY_UNSET");
  start("", "    api_key_env: LADDER_TEST_FRONTIER_KEY_UNSET\n");
  const std::string log = read_file(dir_ / "stderr.log");
  EXPECT_NE(log.find("LADDER_TEST_FRONTIER_KEY_UNSET"), std::string::npos) << log;
  EXPECT_NE(log.find("not set"), std::string::npos) << log;
  Response r = chat("ladder/review");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "not_configured") << r.body;
  EXPECT_EQ(r.json_body()["error"]["type"], "api_error") << r.body;
  EXPECT_EQ(r.body.find("LADDER_TEST_FRONTIER_KEY_UNSET"), std::string::npos) << "server settings stay server-side";
}

// Item 7: secrets a client puts in its own fields never reach the audit file.
TEST_F(ServeFaultsTest, ClientFieldsAreRedactedInTheAudit) {
  start();
  Response r = chat("ladder/review", {{"user", "user-" + kSecret}, {"metadata", {{"ticket", "token=" + kSecret}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  Response p = chat("frontier", {{"user", kSecret}});
  ASSERT_EQ(p.status, 200) << p.body;
  const std::string audit = read_file(dir_ / "audit.jsonl");
  EXPECT_NE(audit.find("\"user\":\"user-[REDACTED:github_token]\""), std::string::npos) << audit;
  EXPECT_EQ(audit.find(kSecret), std::string::npos) << audit;
  // Bounded at the edge.
  Response big = chat("ladder/review", {{"metadata", {{"k", std::string(600, 'x')}}}});
  EXPECT_EQ(big.status, 400) << big.body;
  EXPECT_EQ(big.json_body()["error"]["param"], "metadata.k");
}

// Item 5 with /dev/full: fail-closed answers 503 audit_unavailable; fail-open answers.
TEST_F(ServeFaultsTest, FailClosedAuditIsA503) {
  start("", "", "audit:\n  on_failure: closed\n", {"--audit", "/dev/full"});
  Response r = chat("ladder/review");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "audit_unavailable") << r.body;
  Response ready = http(serve_->port, "GET", "/readyz", "");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_FALSE(ready.json_body()["audit"]["ok"].get<bool>()) << ready.body;

  serve_.reset();
  start("", "", "", {"--audit", "/dev/full"});
  EXPECT_EQ(chat("ladder/review").status, 200) << "on_failure: open (the default) answers";
}

}  // namespace
}  // namespace ladder::testing
