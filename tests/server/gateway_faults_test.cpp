// Faults as the gateway hands them to the HTTP layer: readiness from what ladder needs to
// serve (not the frontier), the audit policy (fail-open or fail-closed, on /dev/full),
// an upstream's 429 and Retry-After kept, a missing key as a server-side 503, and no
// upstream URL in what a client reads. The upstream is tests/fakes/fake_frontier.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../backends/test_support.h"
#include "router/decision_json.h"
#include "server/errors.h"
#include "server/gateway.h"
#include "server/metrics.h"

namespace ladder::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using testing::FakeFrontierTest;

class GatewayFaultsTest : public FakeFrontierTest {
 protected:
  void SetUp() override {
    FakeFrontierTest::SetUp();
    dir_ = fs::temp_directory_path() /
           ("ladder-gateway-faults-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(dir_);
    options_.policy_path = (dir_ / "policy.yaml").string();
    options_.audit_path = (dir_ / "audit.jsonl").string();
    options_.health_interval = milliseconds(0);  // the tests probe by hand
    declare_server_metrics(metrics_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Local tier `small` and frontier tier `frontier`, both OpenAI-compatible, no retries;
  // task `review` never runs locally.
  std::unique_ptr<Gateway> start(const std::string& local_url, const std::string& frontier_url,
                                 const std::string& frontier_extra = "", const std::string& extra = "") {
    std::ofstream(options_.policy_path)
        << "version: 1\nmodels:\n  small:\n    backend: openai\n    base_url: " << local_url
        << "\n    model: small\n    connect_timeout_ms: 500\n    retry: {max_retries: 0}\n"
        << "  frontier:\n    backend: openai\n    base_url: " << frontier_url
        << "\n    model: big\n    connect_timeout_ms: 500\n    retry: {max_retries: 0}\n"
        << frontier_extra << "tiers:\n  - name: local\n    models: [small]\n  - name: frontier\n"
        << "    models: [frontier]\ntasks:\n  review:\n    kind: generate\n    local: false\n"
        << extra;
    auto gw = Gateway::create(options_, metrics_);
    EXPECT_TRUE(gw.ok()) << gw.status().to_string();
    return gw.ok() ? std::move(gw).value() : nullptr;
  }
  Result<RoutedOutcome> route(Gateway& gw) {
    RouteRequest req;
    req.task = "review";
    req.input = "review auth.go";
    return gw.route(gw.router(), std::move(req), ClientIdentity{"alice", {}});
  }
  static void probe_until_down(Gateway& gw) {
    for (int i = 0; i < 3; ++i) gw.check_health();  // failures_to_mark_down: 3 (the default)
  }

  fs::path dir_;
  GatewayOptions options_;
  MetricsRegistry metrics_;
};

// Item 3: a frontier outage must not take every replica out of the load balancer; the
// body says what is down.
TEST_F(GatewayFaultsTest, ReadinessDependsOnTheLocalTierNotTheFrontier) {
  auto gw = start(base_url(), down_url());
  ASSERT_TRUE(gw);
  probe_until_down(*gw);
  json ready = gw->readiness();
  EXPECT_TRUE(ready["ready"].get<bool>()) << ready.dump(2);
  EXPECT_EQ(ready["down"], json::array({"frontier"})) << ready.dump(2);
  EXPECT_FALSE(ready["models"]["frontier"]["healthy"].get<bool>());
  EXPECT_FALSE(ready["models"]["frontier"]["required"].get<bool>());
  EXPECT_EQ(ready["models"]["frontier"]["error"], "unavailable");
  EXPECT_EQ(ready["models"]["frontier"]["tier"], "frontier");
  EXPECT_TRUE(ready["models"]["small"]["required"].get<bool>());
  EXPECT_EQ(ready.dump().find("127.0.0.1"), std::string::npos) << "codes, not upstream addresses";
  EXPECT_NE(metrics_.render().find("ladder_backend_healthy{model=\"frontier\"} 0"), std::string::npos);
}

TEST_F(GatewayFaultsTest, ALocalTierDownMakesItUnready) {
  auto gw = start(down_url(), base_url());
  ASSERT_TRUE(gw);
  probe_until_down(*gw);
  json ready = gw->readiness();
  EXPECT_FALSE(ready["ready"].get<bool>()) << ready.dump(2);
  EXPECT_EQ(ready["down"], json::array({"small"}));
  EXPECT_TRUE(ready["audit"]["ok"].get<bool>());
}

// Item 5 with /dev/full: fail-open (the default) answers and counts; fail-closed refuses
// with audit_unavailable (503), routed and pass-through alike.
TEST_F(GatewayFaultsTest, AuditFailClosedOnDevFull) {
  answer(R"({"verdict":"ok"})");
  options_.audit_path = "/dev/full";
  auto open = start(base_url(), base_url());
  ASSERT_TRUE(open);
  auto answered = route(*open);
  ASSERT_TRUE(answered.ok()) << answered.status().to_string();
  EXPECT_TRUE(answered->decision.frontier_ok);
  EXPECT_FALSE(open->readiness()["ready"].get<bool>());
  open.reset();

  auto closed = start(base_url(), base_url(), "", "audit:\n  on_failure: closed\n");
  ASSERT_TRUE(closed);
  auto refused = route(*closed);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kAuditUnavailable);
  ApiError e = make_api_error(refused.status());
  EXPECT_EQ(e.http_status, 503);
  EXPECT_EQ(e.body["error"]["code"], "audit_unavailable");
  GenerationRequest g;
  g.messages = {{"user", "hi"}};
  auto passed = closed->pass_through(closed->router(), "frontier", g, nullptr, "req_1", ClientIdentity{"alice", {}});
  ASSERT_FALSE(passed.ok());
  EXPECT_EQ(passed.status().code(), ErrorCode::kAuditUnavailable);
  const std::string m = metrics_.render();
  EXPECT_NE(m.find("ladder_audit_write_failures_total 3"), std::string::npos) << m;
}

// Items 2 and 6: an upstream 429 stays a 429 with its Retry-After, and the client's message
// names the model, not the upstream's URL.
TEST_F(GatewayFaultsTest, UnansweredEscalationKeepsTheRateLimitAndItsRetryAfter) {
  auto gw = start(base_url(), base_url());
  ASSERT_TRUE(gw);
  fail({{"mode", "429"}, {"count", 1}, {"retry_after", 9}});
  auto outcome = route(*gw);
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  auto failure = decision_failure(outcome->decision);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->code(), ErrorCode::kRateLimited);
  EXPECT_EQ(failure->retry_after(), std::optional<milliseconds>(milliseconds(9000)));
  ApiError e = make_api_error(*failure);
  EXPECT_EQ(e.http_status, 429);
  EXPECT_EQ(e.retry_after_s, 9);
  const std::string message = e.body["error"]["message"];
  EXPECT_NE(message.find("model 'frontier' is rate limiting requests"), std::string::npos) << message;
  EXPECT_EQ(message.find("127.0.0.1"), std::string::npos) << message;
}

// Item 4: an unset key variable is the server's fault: not_configured, 503.
TEST_F(GatewayFaultsTest, MissingFrontierKeyIsAServerSideError) {
  auto gw = start(base_url(), base_url(), "    api_key_env: LADDER_TEST_FRONTIER_KEY_UNSET\n");
  ASSERT_TRUE(gw);
  auto outcome = route(*gw);
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  auto failure = decision_failure(outcome->decision);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->code(), ErrorCode::kNotConfigured);
  ApiError e = make_api_error(*failure);
  EXPECT_EQ(e.http_status, 503);
  EXPECT_EQ(e.body["error"]["type"], "api_error");
  EXPECT_EQ(requests().size(), 0u) << "no call goes out without the key";
}

// Item 6: a pass-through call's failure names the model, never the upstream URL.
TEST_F(GatewayFaultsTest, PassThroughFailureNamesNoUpstreamUrl) {
  const std::string down = down_url() + "/distinctive-prefix-4711";
  auto gw = start(base_url(), down);
  ASSERT_TRUE(gw);
  GenerationRequest g;
  g.messages = {{"user", "hi"}};
  auto passed = gw->pass_through(gw->router(), "frontier", g, nullptr, "req_2", ClientIdentity{"alice", {}});
  ASSERT_FALSE(passed.ok());
  EXPECT_EQ(passed.status().code(), ErrorCode::kUnavailable);
  const std::string body = make_api_error(passed.status()).body.dump();
  EXPECT_EQ(body.find("127.0.0.1"), std::string::npos) << body;
  EXPECT_EQ(body.find("distinctive-prefix"), std::string::npos) << body;
  EXPECT_NE(body.find("model 'frontier' could not be reached"), std::string::npos) << body;
}

}  // namespace
}  // namespace ladder::server
