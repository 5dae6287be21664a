// How faults travel through the router: typed tier errors (code, message, retry-after),
// health judged from real calls as well as probes, client-facing words without upstream
// URLs, and client-supplied strings redacted before the escalation packet and the audit
// record. The frontier is tests/fakes/fake_frontier.py; the audit a real JSONL file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "backends/http/http_client.h"
#include "config/loader.h"
#include "router/decision_json.h"
#include "router/router.h"
#include "router_fixture.h"
#include "store/jsonl_sink.h"

namespace ladder {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using testing::RouterFixture;

const std::string kSecret = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";

class RouterFaultsTest : public RouterFixture {
 protected:
  RouterFaultsTest() : RouterFixture("ladder-router-faults-") {}

  // Tier 0 on the fake as an OpenAI-compatible server, tier 1 the frontier on `frontier_url`
  // (the fake unless given); task `review` never runs locally. No retries.
  std::unique_ptr<Router> make(const std::string& frontier_url = "", const std::string& extra = "",
                               const std::string& frontier_backend = "openai") {
    const std::string yaml =
        "version: 1\nmodels:\n  small:\n    backend: openai\n    base_url: " + base_url() +
        "\n    model: small\n    retry: {max_retries: 0}\n  frontier:\n    backend: " + frontier_backend +
        "\n    base_url: " + (frontier_url.empty() ? base_url() : frontier_url) +
        "\n    model: big\n    connect_timeout_ms: 500\n    retry: {max_retries: 0}\n"
        "tiers:\n  - name: local\n    models: [small]\n  - name: frontier\n    models: [frontier]\n"
        "tasks:\n  review:\n    kind: generate\n    local: false\n" +
        extra;
    return router_for(yaml);
  }
  Decision route(Router& router, const std::string& task = "review", const json& audit_fields = {}) {
    RouteRequest req;
    req.task = task;
    req.input = "review auth.go";
    req.audit_fields = audit_fields;
    auto d = router.route(req);
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return d.ok() ? std::move(d).value() : Decision{};
  }
  std::string audit() const {
    std::ifstream in(dir_ / "audit.jsonl");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::size_t model_posts() {
    std::size_t n = 0;
    for (const auto& r : requests())
      if (r["method"] == "POST") ++n;
    return n;
  }
};

// An ollama frontier answers on an event loop: the escalation runs there
// (escalates_async), and so does a direct call (the server's pass-through).
TEST_F(RouterFaultsTest, OllamaFrontierCallsRunOnTheLoop) {
  auto router = make("", "", "ollama");
  EXPECT_TRUE(router->escalates_async());
  http::Client client;
  GenerationRequest g;
  g.messages = {{"user", "hi"}};
  std::promise<Result<GenerationResult>> done;
  ASSERT_TRUE(router->generate_direct_async("frontier", g, client, {},
                                            [&](Result<GenerationResult> r) { done.set_value(std::move(r)); }));
  auto result = done.get_future().get();
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->text, R"({"label":"unknown"})");
  EXPECT_EQ(requests().back()["path"], "/api/chat");
  EXPECT_FALSE(router->generate_direct_async("no_such_model", g, client, {}, [](Result<GenerationResult>) {}));
}

// Item 8: a tier's failure is a typed Status (code, full message, retry-after), not a
// string for the server to parse back.
TEST_F(RouterFaultsTest, TierErrorsAreTypedWithRetryAfter) {
  fail({{"mode", "429"}, {"count", 1}, {"retry_after", 7}});
  auto router = make();
  Decision d = route(*router);
  ASSERT_EQ(d.route, "frontier");
  EXPECT_FALSE(d.frontier_ok);
  EXPECT_EQ(d.frontier_error.code(), ErrorCode::kRateLimited);
  EXPECT_EQ(d.frontier_error.retry_after(), std::optional<milliseconds>(milliseconds(7000)));
  ASSERT_EQ(d.tiers.size(), 1u);
  EXPECT_EQ(d.tiers[0].error.code(), ErrorCode::kRateLimited);
  EXPECT_EQ(d.tiers[0].skipped, AttemptSkip::kNone);
  EXPECT_NE(d.tiers[0].error.message().find(base_url()), std::string::npos) << "the full message keeps the URL";
  const json full = decision_to_json(d);
  EXPECT_EQ(full["frontier_error"]["code"], "rate_limited");
  EXPECT_EQ(full["frontier_error"]["retry_after_s"], 7);
  EXPECT_EQ(full["tiers"][0]["error"]["code"], "rate_limited");
}

// Item 6: what a client may read names the model and the code's meaning, never the URL.
TEST_F(RouterFaultsTest, PublicDecisionNamesNoUpstreamUrl) {
  const std::string down = "http://127.0.0.1:" + std::to_string(testing::free_port()) + "/distinctive-prefix-4711";
  auto router = make(down);
  Decision d = route(*router);
  ASSERT_FALSE(d.frontier_ok);
  EXPECT_EQ(d.frontier_error.code(), ErrorCode::kUnavailable);
  const std::string pub = decision_to_json(d, ErrorDetail::kPublic).dump();
  EXPECT_EQ(pub.find("127.0.0.1"), std::string::npos) << pub;
  EXPECT_EQ(pub.find("distinctive-prefix"), std::string::npos) << pub;
  EXPECT_NE(pub.find("model 'frontier' could not be reached"), std::string::npos) << pub;
  EXPECT_NE(decision_to_json(d).dump().find("distinctive-prefix"), std::string::npos) << "the CLI's view keeps it";
  EXPECT_NE(audit().find("distinctive-prefix"), std::string::npos) << "the audit record keeps it";
}

// Item 1, the finding: one 429 on GET /v1/models took the frontier out for a whole
// interval. A probe's 429 shows the model is there; one failed probe is not enough.
TEST_F(RouterFaultsTest, OneFailedProbeDoesNotTakeTheFrontierOut) {
  answer(R"({"verdict":"ok"})");
  auto router = make();
  fail({{"mode", "429"}, {"count", 1}, {"path_contains", "/v1/models"}});
  EXPECT_EQ(router->check_health("frontier").code(), ErrorCode::kRateLimited);
  EXPECT_TRUE(router->healthy("frontier"));
  fail({{"mode", "503"}, {"count", 1}, {"path_contains", "/v1/models"}});
  EXPECT_FALSE(router->check_health("frontier").ok());
  EXPECT_TRUE(router->healthy("frontier")) << "one failed probe in a row of three";
  for (int i = 0; i < 5; ++i) {
    Decision d = route(*router);
    EXPECT_TRUE(d.frontier_ok) << decision_to_json(d).dump(2);
  }
  EXPECT_EQ(model_posts(), 5u);
}

// Item 1: real calls mark a model down (no probe needed), a model marked down is not
// called, and a success (here a probe) marks it up.
TEST_F(RouterFaultsTest, FailedCallsMarkDownAndAProbeMarksUp) {
  answer(R"({"verdict":"ok"})");
  auto router = make("", "health:\n  failures_to_mark_down: 3\n  cooldown_ms: 600000\n");
  fail({{"mode", "500"}, {"count", 3}, {"path_contains", "/chat/completions"}});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(route(*router).frontier_error.code(), ErrorCode::kUpstreamError);
  EXPECT_FALSE(router->healthy("frontier"));
  ASSERT_EQ(model_posts(), 3u);

  Decision skipped = route(*router);
  EXPECT_EQ(model_posts(), 3u) << "a model marked down is not called";
  ASSERT_EQ(skipped.tiers.size(), 1u);
  EXPECT_EQ(skipped.tiers[0].skipped, AttemptSkip::kMarkedDown);
  EXPECT_EQ(skipped.frontier_error.code(), ErrorCode::kUnavailable);
  ASSERT_TRUE(skipped.frontier_error.retry_after().has_value());
  EXPECT_GT(*skipped.frontier_error.retry_after(), milliseconds(0));
  EXPECT_NE(public_attempt_error(skipped.tiers[0]).find("marked down"), std::string::npos);

  EXPECT_TRUE(router->check_health("frontier").ok());
  EXPECT_TRUE(router->healthy("frontier"));
  EXPECT_TRUE(route(*router).frontier_ok);
  EXPECT_EQ(model_posts(), 4u);
}

// Item 1: a rate-limited frontier keeps being asked: 429s never mark it down.
TEST_F(RouterFaultsTest, RateLimitedCallsDoNotMarkDown) {
  auto router = make();
  fail({{"mode", "429"}, {"count", 10}, {"retry_after", 30}});
  for (int i = 0; i < 6; ++i) EXPECT_EQ(route(*router).frontier_error.code(), ErrorCode::kRateLimited);
  EXPECT_TRUE(router->healthy("frontier"));
  EXPECT_EQ(model_posts(), 6u);
}

// Item 7: a secret in the task name or in the client's own fields never reaches the
// frontier's packet or the audit record.
TEST_F(RouterFaultsTest, ClientSuppliedStringsAreRedactedInPacketAndAudit) {
  answer(R"({"verdict":"ok"})");
  auto router = make();
  Decision d = route(*router, "deploy-" + kSecret,
                     {{"user", "u-" + kSecret}, {"metadata", {{"note", "token=" + kSecret}, {kSecret, "x"}}}});
  ASSERT_TRUE(d.frontier_ok) << decision_to_json(d).dump(2);
  const std::string sent = requests().dump();
  EXPECT_EQ(sent.find(kSecret), std::string::npos) << sent;
  EXPECT_NE(sent.find("[REDACTED:github_token]"), std::string::npos) << sent;
  const std::string record = audit();
  ASSERT_FALSE(record.empty());
  EXPECT_EQ(record.find(kSecret), std::string::npos) << record;
  const json r = json::parse(record.substr(0, record.find('\n')));
  EXPECT_EQ(r["task"], "deploy-[REDACTED:github_token]");
  EXPECT_EQ(r["user"], "u-[REDACTED:github_token]");
}

// Item 5 (router side): the policy chooses; under on_failure: closed the request whose
// record cannot be written gets audit_unavailable instead of its decision.
TEST_F(RouterFaultsTest, AuditFailClosedRefusesTheDecision) {
  answer(R"({"verdict":"ok"})");
  for (const bool closed : {false, true}) {
    const std::string yaml = "version: 1\nmodels:\n  frontier:\n    backend: openai\n    base_url: " + base_url() +
                             "\n    model: big\ntiers:\n  - name: local\n    models: [frontier]\n"
                             "tasks:\n  review:\n    kind: generate\n" +
                             std::string(closed ? "audit:\n  on_failure: closed\n" : "");
    auto config = load_policy_yaml(yaml, "test.yaml", dir_.string());
    ASSERT_TRUE(config.ok()) << config.status().to_string();
    auto sink = open_jsonl_sink("/dev/full");  // every write fails with ENOSPC
    ASSERT_TRUE(sink.ok()) << sink.status().to_string();
    auto router = Router::create(std::move(config).value(), std::move(sink).value());
    ASSERT_TRUE(router.ok());
    RouteRequest req;
    req.task = "review";
    req.input = "review auth.go";
    auto d = (*router)->route(req);
    if (closed) {
      ASSERT_FALSE(d.ok());
      EXPECT_EQ(d.status().code(), ErrorCode::kAuditUnavailable);
      EXPECT_EQ(error_info(d.status().code()).http_status, 503);
      EXPECT_EQ(d.status().message().find("/dev/full"), std::string::npos) << d.status().message();
      EXPECT_EQ((*router)->write_audit({{"request_id", "r"}}).code(), ErrorCode::kAuditUnavailable);
    } else {
      EXPECT_TRUE(d.ok()) << "fail-open (the default) answers";
      EXPECT_TRUE((*router)->write_audit({{"request_id", "r"}}).ok());
    }
  }
}

}  // namespace
}  // namespace ladder
