// HTTP step behaviour against the fake GitHub API (its own process on 127.0.0.1): real
// paths, pagination by Link header, retries, rate limits, timeouts, the circuit breaker,
// and secrets sent to their own host only.
#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "config/macro_file.h"
#include "integration/process.h"
#include "macros/runner.h"

namespace ladder::macros {
namespace {

using ladder::testing::http_request;
using ladder::testing::ServerProcess;
using nlohmann::json;

std::string macro_yaml(int port, const std::string& extra_host = "") {
  return R"(id: pulls_v1
intent: list open pull requests
input_schema:
  type: object
  required: [owner, repo]
  properties:
    owner: {type: string}
    repo: {type: string}
    max: {type: integer, default: 100}
secrets:
  github_token: {env: HTTP_TEST_GITHUB_TOKEN}
hosts:
  github:
    base_url: http://127.0.0.1:)" +
         std::to_string(port) + R"(
    headers: {Accept: application/vnd.github+json, X-GitHub-Api-Version: "2022-11-28"}
    auth: {secret: github_token}
    circuit_breaker: {failures: 3, open_ms: 60000}
    rate_limit: {max_wait_ms: 3000}
)" + extra_host +
         R"(errors: [repo_not_found]
steps:
  - id: pulls
    http:
      host: github
      path: /repos/{{args.owner}}/{{args.repo}}/pulls
      query: {state: open, per_page: 5}
      paginate: {max_pages: 10, max_items: {ref: /args/max}}
    timeout_ms: 1500
    retry: {attempts: 3, backoff_ms: 20}
    on_status: {404: repo_not_found}
  - id: done
    emit: {count: {ref: /steps/pulls}, numbers: {ref: /steps/pulls}}
)";
}

class GithubHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("FAKE_GITHUB_TOKEN", "ghp_testtoken123", 1);
    ::setenv("HTTP_TEST_GITHUB_TOKEN", "ghp_testtoken123", 1);
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"python3", std::string(LADDER_SOURCE_DIR) + "/tests/fakes/fake_github.py"});
    std::string line = server_->read_line(30);
    ASSERT_EQ(line.rfind("PORT ", 0), 0u) << line;
    port_ = std::stoi(line.substr(5));
    load(macro_yaml(port_));
  }
  void TearDown() override {
    server_.reset();
    ::unsetenv("FAKE_GITHUB_TOKEN");
  }
  void load(const std::string& yaml) {
    auto def = load_macro_yaml(yaml, "pulls_v1.yaml", "/tmp");
    ASSERT_TRUE(def.ok()) << def.status().message();
    config_.macro_definitions = {*def};
  }
  void fail(const json& fault) {
    std::string body;
    ASSERT_EQ(http_request(port_, "POST", "/_fail", fault.dump(), &body), 200) << body;
  }
  json requests() {
    std::string body;
    http_request(port_, "GET", "/_requests", "", &body);
    return json::parse(body);
  }
  RunOutcome run(const json& args) { return runner_.run(config_, "pulls_v1", args, RunOptions{}); }

  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
  Config config_;
  Runner runner_{std::make_shared<NetworkTransport>(), NativeRegistry::with_builtins(), nullptr};
};

TEST_F(GithubHttpTest, FollowsLinkPaginationAndStopsAtMaxItems) {
  RunOutcome all = run({{"owner", "acme"}, {"repo", "checkout"}});
  ASSERT_EQ(all.status, "ok") << all.to_json().dump(2);
  const json& pulls = all.result["numbers"];
  ASSERT_TRUE(pulls.is_array());
  EXPECT_GT(pulls.size(), 5u) << "more than one page was read";
  json reqs = requests();
  int pages = 0;
  for (const auto& r : reqs) pages += r["path"].get<std::string>().find("/pulls") != std::string::npos;
  EXPECT_EQ(pages, static_cast<int>((pulls.size() + 4) / 5));
  EXPECT_EQ(reqs[0]["headers"]["x-github-api-version"], "2022-11-28");

  http_request(port_, "POST", "/_reset", "", nullptr);
  RunOutcome some = run({{"owner", "acme"}, {"repo", "checkout"}, {"max", 7}});
  ASSERT_EQ(some.status, "ok");
  EXPECT_EQ(some.result["numbers"].size(), 7u);
  EXPECT_EQ(requests().size(), 2u) << "stops after the page that reached max_items";
}

TEST_F(GithubHttpTest, SecretGoesInTheAuthorizationHeaderOfItsHost) {
  RunOutcome o = run({{"owner", "acme"}, {"repo", "checkout"}, {"max", 1}});
  ASSERT_EQ(o.status, "ok") << o.to_json().dump(2);
  EXPECT_EQ(requests()[0]["headers"]["authorization"], "Bearer ghp_testtoken123");
  std::string dump = o.to_json().dump();
  EXPECT_EQ(dump.find("ghp_testtoken123"), std::string::npos) << "the token is in no output";
}

TEST_F(GithubHttpTest, NoTokenMeansUnauthorized) {
  ::unsetenv("HTTP_TEST_GITHUB_TOKEN");
  RunOutcome o = run({{"owner", "acme"}, {"repo", "checkout"}});
  ::setenv("HTTP_TEST_GITHUB_TOKEN", "ghp_testtoken123", 1);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->reason, "unauthorized");
  EXPECT_EQ(o.error->http_status, 401);
}

TEST_F(GithubHttpTest, NotFoundMapsToTheDeclaredState) {
  RunOutcome o = run({{"owner", "acme"}, {"repo", "nothing-here"}});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->reason, "repo_not_found");
  EXPECT_EQ(o.error->step, "pulls");
  EXPECT_EQ(requests().size(), 1u) << "a 404 is not retried";
}

TEST_F(GithubHttpTest, RetryAfterOn429IsHonouredThenSucceeds) {
  fail({{"mode", "429"}, {"count", 1}, {"retry_after", 1}});
  RunOutcome o = run({{"owner", "acme"}, {"repo", "checkout"}, {"max", 2}});
  ASSERT_EQ(o.status, "ok") << o.to_json().dump(2);
  EXPECT_EQ(o.trace[0].attempts, 2);
  EXPECT_GE(o.trace[0].ms, 900.0) << "waited for Retry-After";
}

TEST_F(GithubHttpTest, PrimaryRateLimitBeyondTheWaitBudgetIsATypedError) {
  fail({{"mode", "ratelimit"}, {"count", -1}, {"retry_after", 600}});
  RunOutcome o = run({{"owner", "acme"}, {"repo", "checkout"}});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->reason, "rate_limited");
  EXPECT_EQ(o.error->http_status, 403);
  EXPECT_GT(o.error->retry_after_ms, 500000);
  EXPECT_EQ(requests().size(), 1u) << "no retry when the reset is past the wait budget";
}

TEST_F(GithubHttpTest, ServerErrorsAreRetriedWithBackoff) {
  fail({{"mode", "500"}, {"count", 2}});
  RunOutcome o = run({{"owner", "acme"}, {"repo", "checkout"}, {"max", 1}});
  ASSERT_EQ(o.status, "ok") << o.to_json().dump(2);
  EXPECT_EQ(o.trace[0].attempts, 3);
}

TEST_F(GithubHttpTest, MalformedBodyAndCutConnectionAreTypedErrors) {
  fail({{"mode", "malformed"}, {"count", -1}});
  RunOutcome o = run({{"owner", "acme"}, {"repo", "checkout"}, {"max", 1}});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->reason, "bad_response");
  fail({{"mode", "cut"}, {"count", -1}});
  RunOutcome cut = run({{"owner", "acme"}, {"repo", "checkout"}, {"max", 1}});
  ASSERT_TRUE(cut.error);
  EXPECT_TRUE(cut.error->reason == "connection_reset" || cut.error->reason == "bad_response") << cut.error->reason;
}

TEST_F(GithubHttpTest, SlowUpstreamTimesOut) {
  fail({{"mode", "slow"}, {"count", -1}, {"delay_ms", 4000}});
  RunOutcome o = run({{"owner", "acme"}, {"repo", "checkout"}, {"max", 1}});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->reason, "timeout");
}

TEST_F(GithubHttpTest, CircuitOpensAfterRepeatedFailuresAndFailsFast) {
  fail({{"mode", "500"}, {"count", -1}});
  RunOutcome first = run({{"owner", "acme"}, {"repo", "checkout"}, {"max", 1}});
  ASSERT_TRUE(first.error);
  EXPECT_EQ(first.error->reason, "upstream_error");
  std::size_t before = requests().size();
  EXPECT_EQ(before, 3u);
  RunOutcome second = run({{"owner", "acme"}, {"repo", "checkout"}, {"max", 1}});
  ASSERT_TRUE(second.error);
  EXPECT_EQ(second.error->reason, "circuit_open");
  EXPECT_EQ(requests().size(), before) << "an open circuit sends nothing";
}

TEST_F(GithubHttpTest, UpstreamDownIsUnavailable) {
  load(macro_yaml(ladder::testing::free_port()));
  RunOutcome o = run({{"owner", "acme"}, {"repo", "checkout"}});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->reason, "unavailable");
}

}  // namespace
}  // namespace ladder::macros
