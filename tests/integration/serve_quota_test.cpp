// Per-key limits of `ladder serve` (docs/server.md, Client limits) in the audit: each
// request refused over a limit leaves one record (route "rejected", reason
// "rate_limited", the limit and the Retry-After it was told) and is counted in
// ladder_rejected_total. The real binary with both tiers on fake_frontier.py processes.
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

const std::string kBobKey = "sk-bob-test-key";

class ServeQuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ladder-serve-quota-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ASSERT_GT(local_.port, 0);
    ASSERT_GT(frontier_.port, 0);
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-not-secret", 1);
    write_file(dir_ / "policy.yaml", fake_tiers_policy_text(frontier_.port, local_.port));
    write_file(dir_ / "keys.yaml", "alice: {key: " + kAliceKey +
                                       ", limits: {requests_per_minute: 2}}\n"
                                       "bob: {key: " +
                                       kBobKey + ", limits: {tokens_per_minute: 5}}\n");
    serve_ = std::make_unique<Serve>(std::vector<std::string>{"--audit", dir_ / "audit.jsonl", "--health-interval-ms",
                                                              "0", "--api-keys-file", dir_ / "keys.yaml"},
                                     dir_ / "policy.yaml", dir_ / "stderr.log");
    ASSERT_GT(serve_->port, 0) << read_file(dir_ / "stderr.log");
  }
  void TearDown() override {
    serve_.reset();
    fs::remove_all(dir_);
  }
  // The records of route "rejected", once the server has stopped (and so written them all).
  std::vector<json> rejected_after_stop() {
    serve_.reset();
    std::vector<json> out;
    std::istringstream in(read_file(dir_ / "audit.jsonl"));
    for (std::string line; std::getline(in, line);) {
      json rec = json::parse(line);
      if (rec.value("route", "") == "rejected") out.push_back(std::move(rec));
    }
    return out;
  }

  fs::path dir_;
  Fake local_;
  Fake frontier_;
  std::unique_ptr<Serve> serve_;
};

TEST_F(ServeQuotaTest, EachRequestRefusedOverALimitLeavesOneRecordNamingTheLimit) {
  const json chat = chat_body("gemma-local", "hi");
  ASSERT_EQ(serve_->post("/v1/chat/completions", chat).status, 200);
  ASSERT_EQ(serve_->post("/v1/chat/completions", chat).status, 200);
  // Alice is over her 2 requests per minute on every model endpoint.
  std::vector<std::pair<std::string, Response>> refused;
  refused.emplace_back("/v1/chat/completions", serve_->post("/v1/chat/completions", chat));
  refused.emplace_back("/v1/messages",
                       serve_->post("/v1/messages", {{"model", "ladder/classify_issue"},
                                                     {"max_tokens", 16},
                                                     {"messages", {{{"role", "user"}, {"content", "x"}}}}}));
  refused.emplace_back("/v1/run", serve_->post("/v1/run", {{"macro", "ci_failure_summary_v1"},
                                                           {"args", {{"owner", "acme"}, {"repo", "checkout"}}}}));
  for (const auto& [path, r] : refused) EXPECT_EQ(r.status, 429) << path << ": " << r.body;
  // Bob's first call used more than his 5 tokens per minute.
  ASSERT_EQ(serve_->post("/v1/chat/completions", chat, kBobKey).status, 200);
  Response tokens = serve_->post("/v1/chat/completions", chat, kBobKey);
  EXPECT_EQ(tokens.status, 429) << tokens.body;
  EXPECT_EQ(local_.posts().size(), 3u) << "refused requests reach no model";

  const std::string metrics = serve_->get("/metrics", kBobKey).body;
  EXPECT_NE(metrics.find("ladder_rejected_total{cause=\"client_requests_per_minute\"} 3"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ladder_rejected_total{cause=\"client_tokens_per_minute\"} 1"), std::string::npos) << metrics;

  const std::vector<json> records = rejected_after_stop();
  ASSERT_EQ(records.size(), 4u) << "one record per refused request";
  std::set<std::string> ids;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const json& rec = records[i];
    SCOPED_TRACE(rec.dump());
    EXPECT_EQ(rec["reason"], "rate_limited");
    EXPECT_EQ(rec["ok"], false);
    EXPECT_EQ(rec["via"], "server");
    EXPECT_FALSE(rec["request_id"].get<std::string>().empty());
    ids.insert(rec["request_id"].get<std::string>());
    EXPECT_TRUE(rec["ts"].is_string());
    EXPECT_NE(rec["error"].get<std::string>().find("over its"), std::string::npos);
    const Response& answer = i < refused.size() ? refused[i].second : tokens;
    EXPECT_EQ(rec["retry_after_s"], std::atoi(answer.header("retry-after").c_str())) << "what the client was told";
    EXPECT_GE(rec["retry_after_s"].get<int>(), 1);
    EXPECT_LE(rec["retry_after_s"].get<int>(), 60);
    if (i < refused.size()) {
      EXPECT_EQ(rec["client"], "alice");
      EXPECT_EQ(rec["limit"], "requests_per_minute");
      EXPECT_EQ(rec["endpoint"], refused[i].first);
    } else {
      EXPECT_EQ(rec["client"], "bob");
      EXPECT_EQ(rec["limit"], "tokens_per_minute");
      EXPECT_EQ(rec["endpoint"], "/v1/chat/completions");
    }
  }
  EXPECT_EQ(ids.size(), records.size()) << "each refusal has its own request id";
  EXPECT_EQ(read_file(dir_ / "audit.jsonl").find(kAliceKey), std::string::npos) << "no key in the audit";
}

}  // namespace
}  // namespace ladder::testing
