// Black-box tests of `ladder serve`: the real binary with the real local model (Gemma 3
// 270M, embedded llama.cpp) and the fake frontier at the network boundary, each in its
// own process on 127.0.0.1. Every endpoint, failure class and bad input of the server.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "process.h"
#include "serve_client.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-not-secret", 1);
    setenv("LADDER_TEST_ADMIN", kAdminToken.c_str(), 1);
    setenv("LADDER_TEST_CI_KEY", "sk-ci-from-env", 1);
    dir_ = new std::string(fs::temp_directory_path() / ("ladder-serve-it-" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    github_ = new ServerProcess({"python3", kSource + "/tests/fakes/fake_github.py"});
    std::string github_line = github_->read_line(30);
    ASSERT_EQ(github_line.rfind("PORT ", 0), 0u) << "fake GitHub did not start: " << github_line;
    github_port_ = std::stoi(github_line.substr(5));
    setenv("LADDER_GITHUB_API_URL", ("http://127.0.0.1:" + std::to_string(github_port_)).c_str(), 1);
    fake_ = new Fake();
    ASSERT_GT(fake_->port, 0) << "fake frontier did not start";
    write_file(*dir_ + "/keys.yaml", "alice: " + kAliceKey + "\nci: {env: LADDER_TEST_CI_KEY}\n");
    policy_ = new std::string(*dir_ + "/policy.yaml");
    write_file(*policy_, policy_text(fake_->port, fake_->port));
    serve_ = new Serve(
        {"--health-interval-ms", "0", "--audit", *dir_ + "/audit.jsonl", "--admin-token-env", "LADDER_TEST_ADMIN",
         "--api-keys-file", *dir_ + "/keys.yaml", "--max-body-bytes", "65536", "--inter-token-timeout-ms", "1000"},
        *policy_);
    ASSERT_GT(serve_->port, 0) << "ladder serve did not start";
  }
  static void TearDownTestSuite() {
    delete serve_;
    delete fake_;
    delete github_;
    fs::remove_all(*dir_);
    delete dir_;
    delete policy_;
  }
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kModel)) << "run scripts/setup first: " << kModel;
    fake_->control("/_reset", json::object());
  }

  // The example policy, frontier tier = [frontier (Anthropic API), frontier-b (OpenAI
  // API)], both on fakes; local model path made absolute.
  static std::string policy_text(int frontier_port, int second_port) {
    std::string text = example_policy_text(kModel);
    replace_all(text, "http://127.0.0.1:8089", "http://127.0.0.1:" + std::to_string(frontier_port));
    replace_all(text, "    models: [frontier]", "    models: [frontier, frontier-b]");
    replace_all(text, "\ntiers:\n",
                "  frontier-b:\n    backend: openai\n    base_url: http://127.0.0.1:" + std::to_string(second_port) +
                    "\n    model: gpt-fake\n    connect_timeout_ms: 500\n    retry:\n      max_retries: 0\n\ntiers:\n");
    return text;
  }
  static std::string audit() { return read_file(*dir_ + "/audit.jsonl"); }

  static std::string* dir_;
  static std::string* policy_;
  static Fake* fake_;
  static Serve* serve_;
  static ServerProcess* github_;
  static int github_port_;
};
ServerProcess* ServeTest::github_ = nullptr;
int ServeTest::github_port_ = 0;
std::string* ServeTest::dir_ = nullptr;
std::string* ServeTest::policy_ = nullptr;
Fake* ServeTest::fake_ = nullptr;
Serve* ServeTest::serve_ = nullptr;

TEST_F(ServeTest, HealthReadinessAndModels) {
  EXPECT_EQ(http(serve_->port, "GET", "/healthz", "").status, 200);
  Response ready = http(serve_->port, "GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_TRUE(ready.json_body()["ready"].get<bool>());
  EXPECT_TRUE(ready.json_body()["models"]["gemma-local"]["healthy"].get<bool>());
  Response models = serve_->get("/v1/models");
  ASSERT_EQ(models.status, 200) << models.body;
  const json listed = models.json_body();
  std::set<std::string> ids;
  for (const auto& m : listed["data"]) ids.insert(m["id"].get<std::string>());
  for (const char* id : {"ladder/auto", "ladder/classify_issue", "ladder/security_review", "frontier",
                         "claude-sonnet-4-5", "gemma-local"})
    EXPECT_TRUE(ids.count(id)) << id << " missing from " << models.body;
}

TEST_F(ServeTest, NamedTaskIsAnsweredLocallyAndSaysSo) {
  Response r = serve_->post("/v1/chat/completions", chat_body("ladder/classify_issue", kDependencyLog));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json_body();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(json::parse(j["choices"][0]["message"]["content"].get<std::string>())["label"], "dependency");
  EXPECT_EQ(j["model"], "ladder/classify_issue");
  EXPECT_EQ(j["ladder"]["route"], "local");
  EXPECT_EQ(j["ladder"]["tier"], "local");
  EXPECT_EQ(r.header("x-ladder-route"), "local");
  EXPECT_EQ(r.header("x-ladder-model"), "gemma-local");
  EXPECT_TRUE(fake_->posts().empty()) << "a local accept must not reach the frontier";
  const std::string id = j["ladder"]["request_id"];
  EXPECT_EQ(r.header("x-ladder-request-id"), id);
  const std::string a = audit();
  auto at = a.find(id);
  ASSERT_NE(at, std::string::npos);
  const std::string line = a.substr(a.rfind('\n', at) + 1, a.find('\n', at) - a.rfind('\n', at) - 1);
  EXPECT_EQ(json::parse(line)["client"], "alice") << line;
  EXPECT_EQ(a.find(kAliceKey), std::string::npos) << "keys are never written to the audit";
}

TEST_F(ServeTest, AutoRoutesByExtensionFieldOrClassifier) {
  Response r = serve_->post("/v1/chat/completions", chat_body("ladder/auto", "review auth.go for injection",
                                                              {{"ladder", {{"task", "security_review"}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json_body();
  EXPECT_EQ(j["ladder"]["task"], "security_review");
  EXPECT_EQ(j["ladder"]["route"], "frontier");
  EXPECT_EQ(j["ladder"]["reason"], "policy_requires_frontier");
  EXPECT_EQ(r.header("x-ladder-reason"), "policy_requires_frontier");
  EXPECT_EQ(r.header("x-ladder-tier"), "frontier");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "{\"label\":\"unknown\"}");
  ASSERT_EQ(fake_->posts().size(), 1u);

  // No task named: the classifier reads the policy's own words.
  r = serve_->post("/v1/chat/completions", chat_body("ladder/auto", kDependencyLog));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["ladder"]["task"], "classify_issue") << r.body;
}

TEST_F(ServeTest, EscalationTakesMaxTokensAndTemperatureFromTheRequestElseTheTask) {
  Response r = serve_->post("/v1/chat/completions", chat_body("ladder/security_review", "review auth.go",
                                                              {{"max_tokens", 77}, {"temperature", 0.25}}));
  ASSERT_EQ(r.status, 200) << r.body;
  json posts = fake_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0]["body"]["max_tokens"], 77);
  EXPECT_EQ(posts[0]["body"]["temperature"], 0.25);

  fake_->control("/_reset", json::object());
  r = serve_->post("/v1/chat/completions", chat_body("ladder/security_review", "review auth.go"));
  ASSERT_EQ(r.status, 200) << r.body;
  posts = fake_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0]["body"]["max_tokens"], 2048) << "the task's max_tokens (examples/maintainer/policy.yaml)";
  EXPECT_EQ(posts[0]["body"]["temperature"], 0.0);
}

TEST_F(ServeTest, OtherModelNamesPassThroughToTheirTier) {
  fake_->control("/_answer", {{"text", "hello from upstream"}});
  Response r = serve_->post("/v1/chat/completions", chat_body("claude-sonnet-4-5", "say hello", {{"max_tokens", 20}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "hello from upstream");
  EXPECT_EQ(r.header("x-ladder-route"), "pass_through");
  EXPECT_EQ(r.header("x-ladder-model"), "frontier");
  json posts = fake_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0]["path"], "/v1/messages");
  EXPECT_EQ(posts[0]["body"]["messages"][0]["content"], "say hello");
  EXPECT_EQ(posts[0]["body"]["max_tokens"], 20);
}

TEST_F(ServeTest, NativeRouteGivesAnswerAndWholeDecision) {
  Response r = serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", kDependencyLog}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json_body();
  EXPECT_EQ(j["answer"]["label"], "dependency");
  EXPECT_EQ(j["decision"]["route"], "local");
  EXPECT_TRUE(j["decision"]["tiers"].is_array());
  EXPECT_TRUE(j["decision"]["stages_ms"].is_object()) << j["decision"].dump();
  r = serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", 5}});
  EXPECT_EQ(r.status, 400);
  r = serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", "   \n"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "invalid_argument");
}

TEST_F(ServeTest, BadInputsComeBackInOpenAIErrorShape) {
  auto expect_error = [](const Response& r, int status, const std::string& code, const std::string& type) {
    EXPECT_EQ(r.status, status) << r.body;
    json e = r.json_body();
    ASSERT_TRUE(e.is_object() && e.contains("error")) << r.body;
    EXPECT_EQ(e["error"]["code"], code) << r.body;
    EXPECT_EQ(e["error"]["type"], type) << r.body;
    EXPECT_TRUE(e["error"]["message"].is_string());
    EXPECT_TRUE(e["error"].contains("param"));
  };
  const std::vector<std::pair<std::string, std::string>> alice = {{"Authorization", "Bearer " + kAliceKey}};
  expect_error(http(serve_->port, "POST", "/v1/chat/completions", "{\"model\": ", alice), 400, "parse_error",
               "invalid_request_error");
  Response wrong = serve_->post("/v1/chat/completions", {{"model", "ladder/auto"}, {"messages", "hi"}});
  expect_error(wrong, 400, "invalid_argument", "invalid_request_error");
  EXPECT_EQ(wrong.json_body()["error"]["param"], "messages");
  Response unknown = serve_->post("/v1/chat/completions", chat_body("gpt-nonexistent", "hi"));
  expect_error(unknown, 404, "not_found", "not_found_error");
  EXPECT_EQ(unknown.json_body()["error"]["param"], "model");
  Response orphan = serve_->post(
      "/v1/chat/completions", {{"model", "claude-sonnet-4-5"}, {"messages", {{{"role", "tool"}, {"content", "18C"}}}}});
  expect_error(orphan, 400, "invalid_argument", "invalid_request_error");
  EXPECT_EQ(orphan.json_body()["error"]["param"], "messages[0].tool_call_id");
  Response bad_tools = serve_->post("/v1/chat/completions", chat_body("claude-sonnet-4-5", "hi", {{"tools", "all"}}));
  expect_error(bad_tools, 400, "invalid_argument", "invalid_request_error");
  EXPECT_EQ(bad_tools.json_body()["error"]["param"], "tools");
  EXPECT_TRUE(fake_->posts().empty()) << "a refused request reaches no model";
  expect_error(serve_->get("/v1/nothing-here"), 404, "not_found", "not_found_error");
  expect_error(http(serve_->port, "POST", "/v1/chat/completions", std::string(100000, 'x'), alice), 413,
               "payload_too_large", "invalid_request_error");
  expect_error(serve_->post("/v1/chat/completions", chat_body("ladder/auto", "hi"), "sk-wrong"), 401, "unauthenticated",
               "authentication_error");
  expect_error(http(serve_->port, "GET", "/v1/models", ""), 401, "unauthenticated", "authentication_error");
  // The second key comes from the environment.
  EXPECT_EQ(serve_->get("/v1/models", "sk-ci-from-env").status, 200);
  expect_error(http(serve_->port, "POST", "/v1/run", "not json", alice), 400, "parse_error", "invalid_request_error");
  expect_error(serve_->post("/v1/run", {{"args", json::object()}}), 400, "invalid_argument", "invalid_request_error");
  expect_error(serve_->post("/v1/run", {{"macro", "x_v1"}, {"request", "y"}}), 400, "invalid_argument",
               "invalid_request_error");
  expect_error(serve_->post("/v1/run", {{"macro", 5}}), 400, "invalid_argument", "invalid_request_error");
  expect_error(serve_->post("/v1/run", {{"macro", "deploy_v1"}}), 404, "not_found", "not_found_error");
  expect_error(serve_->post("/v1/run", {{"macro", "stale_sweep_v1"}, {"args", {{"owner", "acme"}}}}), 400,
               "invalid_argument", "invalid_request_error");
  expect_error(serve_->post("/v1/run", {{"request", "sweep"}}, "sk-wrong"), 401, "unauthenticated",
               "authentication_error");
  expect_error(serve_->post("/v1/run", {{"macro", "stale_sweep_v1"}, {"colour", "red"}}), 400, "invalid_argument",
               "invalid_request_error");
  expect_error(serve_->post("/v1/run", {{"macro", "stale_sweep_v1"}, {"dry_run", "yes"}}), 400, "invalid_argument",
               "invalid_request_error");
  expect_error(serve_->post("/v1/run", {{"macro", "stale_sweep_v1"}, {"args", "owner=acme"}}), 400, "invalid_argument",
               "invalid_request_error");
  expect_error(serve_->post("/v1/run", {{"request", "close stale issues"}, {"approval_token", "1.ab"}}), 400,
               "invalid_argument", "invalid_request_error");
  // The server is still fine after all of that.
  EXPECT_EQ(http(serve_->port, "GET", "/healthz", "").status, 200);
}

TEST_F(ServeTest, RunRoutesARequestToAMacroAndAppliesItsApprovalRules) {
  ASSERT_EQ(http_request(github_port_, "POST", "/_reset", "{}", nullptr), 200);
  // Natural language → the local model picks the macro → it runs against GitHub (the fake).
  Response r = serve_->post(
      "/v1/run", {{"request", "Find issues in acme/checkout with no activity for 90 days and label them stale"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json_body();
  EXPECT_EQ(j["status"], "ok") << r.body;
  EXPECT_EQ(j["decision"]["route"], "local");
  EXPECT_EQ(j["run"]["macro"], "stale_sweep_v1");
  EXPECT_GT(j["run"]["result"]["count"].get<int>(), 0);
  // An irreversible run answers with the plan and an approval token, and writes nothing.
  const json args = {{"owner", "acme"}, {"repo", "checkout"}, {"days", 90}, {"action", "close"}};
  ASSERT_EQ(http_request(github_port_, "POST", "/_reset", "{}", nullptr), 200);
  Response plan = serve_->post("/v1/run", {{"macro", "stale_sweep_v1"}, {"args", args}});
  ASSERT_EQ(plan.status, 200) << plan.body;
  json p = plan.json_body();
  EXPECT_EQ(p["status"], "approval_required");
  ASSERT_TRUE(p["approval_token"].is_string());
  std::string log;
  http_request(github_port_, "GET", "/_requests", "", &log);
  for (const auto& rq : json::parse(log)) EXPECT_EQ(rq["method"], "GET") << "nothing written without approval";
  // The token approves exactly these arguments, not others.
  json other = args;
  other["days"] = 30;
  Response wrong =
      serve_->post("/v1/run", {{"macro", "stale_sweep_v1"}, {"args", other}, {"approval_token", p["approval_token"]}});
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  Response done = serve_->post(
      "/v1/run", {{"macro", "stale_sweep_v1"}, {"args", p["run"]["args"]}, {"approval_token", p["approval_token"]}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json_body()["status"], "ok");
  std::string issue;
  int first = done.json_body()["run"]["result"]["stale"][0]["number"];
  http_request(github_port_, "GET", "/_state/acme/checkout/issues/" + std::to_string(first), "", &issue);
  EXPECT_EQ(json::parse(issue)["state"], "closed");
  // The macro run is audited with the client's name.
  EXPECT_NE(audit().find("\"kind\":\"macro_run\""), std::string::npos);
}

TEST_F(ServeTest, UnansweredEscalationIsAnUpstreamError) {
  fake_->control("/_fail", {{"mode", "500"}, {"count", 20}});
  Response r = serve_->post("/v1/chat/completions", chat_body("ladder/security_review", "review auth.go"));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "upstream_error") << r.body;
  EXPECT_EQ(r.header("x-ladder-route"), "frontier");
  EXPECT_EQ(r.header("x-ladder-reason"), "policy_requires_frontier");
  fake_->control("/_fail", {{"mode", "none"}});
}

TEST_F(ServeTest, StreamsPassThroughAndLocalAnswersAsSse) {
  fake_->control("/_answer", {{"text", "one two three four"}});
  Response r =
      serve_->post("/v1/chat/completions",
                   chat_body("gpt-fake", "count", {{"stream", true}, {"stream_options", {{"include_usage", true}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = sse_events(r.body);
  ASSERT_GE(events.size(), 4u) << r.body;
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(streamed_text(events), "one two three four");
  int content_chunks = 0;
  for (const auto& e : events)
    if (e.is_object() && !e["choices"].empty() && e["choices"][0]["delta"].contains("content") &&
        !e["choices"][0]["delta"]["content"].get<std::string>().empty())
      ++content_chunks;
  EXPECT_GE(content_chunks, 2) << "the upstream's pieces arrive as separate chunks: " << r.body;
  const json& usage = events[events.size() - 2];
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_GT(usage["usage"]["completion_tokens"].get<int>(), 0);

  r = serve_->post("/v1/chat/completions", chat_body("ladder/classify_issue", kDependencyLog, {{"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  events = sse_events(r.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(json::parse(streamed_text(events))["label"], "dependency");
  const json& last = events[events.size() - 2];
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(last["ladder"]["route"], "local");
  EXPECT_EQ(r.header("x-ladder-route"), "local");
}

TEST_F(ServeTest, StreamFailureBeforeFirstTokenFallsBackToNextModel) {
  fake_->control("/_answer", {{"text", "{\"label\":\"test\"}"}});
  // The first frontier model (2 attempts) fails before any byte; frontier-b answers.
  fake_->control("/_fail", {{"mode", "503"}, {"count", 2}});
  Response r =
      serve_->post("/v1/chat/completions", chat_body("ladder/security_review", "review auth.go", {{"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = sse_events(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]") << r.body;
  EXPECT_EQ(streamed_text(events), "{\"label\":\"test\"}");
  EXPECT_EQ(events[events.size() - 2]["ladder"]["model"], "frontier-b") << r.body;
  json posts = fake_->posts();
  ASSERT_EQ(posts.size(), 3u) << posts.dump();
  EXPECT_EQ(posts[2]["path"], "/v1/chat/completions");
  Response metrics = http(serve_->port, "GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("ladder_stream_failures_total{class=\"before_first_token\"}"), std::string::npos);
}

TEST_F(ServeTest, StreamCutMidwayEndsWithErrorEventAndIsAudited) {
  fake_->control("/_answer", {{"text", "alpha beta gamma delta epsilon"}});
  fake_->control("/_fail", {{"mode", "stream_cut"}, {"count", 1}, {"after_chunks", 2}});
  Response r =
      serve_->post("/v1/chat/completions", chat_body("ladder/security_review", "review auth.go", {{"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = sse_events(r.body);
  ASSERT_GE(events.size(), 2u) << r.body;
  EXPECT_NE(events.back(), "[DONE]");
  ASSERT_TRUE(events.back().contains("error")) << r.body;
  EXPECT_EQ(events.back()["error"]["code"], "connection_reset") << r.body;
  EXPECT_EQ(streamed_text(events), "alpha beta ");
  // No other model may answer once part of an answer is out.
  EXPECT_EQ(fake_->posts().size(), 1u);
  EXPECT_NE(audit().find("\"frontier_error\":\"connection_reset: "), std::string::npos);
  EXPECT_NE(audit().find("\"frontier_mid_stream\":true"), std::string::npos);
}

TEST_F(ServeTest, InterTokenTimeoutMidStreamIsAFailure) {
  fake_->control("/_answer", {{"text", "alpha beta gamma delta"}});
  fake_->control("/_fail", {{"mode", "stream_stall"}, {"count", 1}, {"after_chunks", 1}, {"delay_ms", 3000}});
  Response r = serve_->post("/v1/chat/completions", chat_body("gpt-fake", "go", {{"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = sse_events(r.body);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().contains("error")) << r.body;
  EXPECT_EQ(events.back()["error"]["code"], "timeout") << r.body;
  EXPECT_EQ(streamed_text(events), "alpha ");
  fake_->control("/_fail", {{"mode", "stream_error"}, {"count", 1}, {"after_chunks", 1}});
  r = serve_->post("/v1/chat/completions", chat_body("gpt-fake", "go", {{"stream", true}}));
  events = sse_events(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().contains("error")) << r.body;
}

TEST_F(ServeTest, AdminKillSwitchShadowAndMetrics) {
  EXPECT_EQ(http(serve_->port, "POST", "/admin/kill-switch", R"({"enabled":true})").status, 401);
  EXPECT_EQ(http(serve_->port, "POST", "/admin/kill-switch", R"({"enabled":true})",
                 {{"Authorization", "Bearer " + kAliceKey}})
                .status,
            401)
      << "a client key is not an admin token";
  EXPECT_EQ(serve_->admin("/admin/kill-switch", {{"enabled", "yes"}}).status, 400);
  Response unknown = serve_->admin("/admin/kill-switch", {{"enabled", true}, {"task", "clasify_issue"}});
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(http(serve_->port, "GET", "/admin/state", "", {{"Authorization", "Bearer " + kAdminToken}})
                .json_body()["kill_switch"]["tasks"]
                .size(),
            0u);

  ASSERT_EQ(serve_->admin("/admin/kill-switch", {{"enabled", true}, {"task", "classify_issue"}}).status, 200);
  Response r = serve_->post("/v1/chat/completions", chat_body("ladder/classify_issue", kDependencyLog));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["ladder"]["reason"], "manual_override");
  ASSERT_EQ(serve_->admin("/admin/kill-switch", {{"enabled", false}, {"task", "classify_issue"}}).status, 200);

  ASSERT_EQ(serve_->admin("/admin/shadow", {{"enabled", true}}).status, 200);
  r = serve_->post("/v1/chat/completions", chat_body("ladder/classify_issue", kDependencyLog));
  ASSERT_EQ(r.status, 200) << r.body;
  json x = r.json_body()["ladder"];
  EXPECT_EQ(x["route"], "frontier") << x.dump();
  EXPECT_TRUE(x["shadow"].get<bool>());
  EXPECT_EQ(x["shadow_route"], "local");
  EXPECT_NE(audit().find("\"shadow_route\":\"local\""), std::string::npos);
  ASSERT_EQ(serve_->admin("/admin/shadow", {{"enabled", nullptr}}).status, 200);
  r = serve_->post("/v1/chat/completions", chat_body("ladder/classify_issue", kDependencyLog));
  EXPECT_EQ(r.json_body()["ladder"]["route"], "local");

  Response m = http(serve_->port, "GET", "/metrics", "");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.header("content-type").find("text/plain"), std::string::npos);
  for (const char* needle :
       {"ladder_decisions_total{reason=\"manual_override\",route=\"frontier\",task=\"classify_issue\"}",
        "ladder_local_accepts_total{task=\"classify_issue\"}", "ladder_stage_duration_seconds_bucket{stage=\"local\"",
        "ladder_gateway_overhead_seconds_count", "ladder_tokens_total{kind=\"prompt\",model=\"gemma-local\"}",
        "ladder_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}"})
    EXPECT_NE(m.body.find(needle), std::string::npos) << needle;
}

TEST_F(ServeTest, ReloadBySighupAndAdminKeepsServing) {
  const int pid = serve_->pid();
  ASSERT_GT(pid, 0);
  std::string text = read_file(*policy_);
  std::string killed = text;
  replace_all(killed, "\nkill_switch: false", "\nkill_switch: true");
  write_file(*policy_, killed);
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Response s = http(serve_->port, "GET", "/admin/state", "", {{"Authorization", "Bearer " + kAdminToken}});
    reloaded = s.json_body()["kill_switch"]["policy"] == true;
  }
  ASSERT_TRUE(reloaded) << "SIGHUP did not reload the policy";
  Response r = serve_->post("/v1/chat/completions", chat_body("ladder/classify_issue", kDependencyLog));
  EXPECT_EQ(r.json_body()["ladder"]["reason"], "manual_override") << r.body;

  write_file(*policy_, text);
  Response a = serve_->admin("/admin/reload", json::object());
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.json_body()["kill_switch"]["policy"], false);
  // A policy that does not load leaves the current one in place.
  write_file(*policy_, "version: 1\nmodels: [oops\n");
  EXPECT_EQ(serve_->admin("/admin/reload", json::object()).status, 400);
  // Nor does one whose local model cannot be built (a typo in the model path).
  std::string typo = text;
  replace_all(typo, ".gguf", ".ggfu");
  ASSERT_NE(typo, text);
  write_file(*policy_, typo);
  Response refused = serve_->admin("/admin/reload", json::object());
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("cannot be built"), std::string::npos) << refused.body;
  write_file(*policy_, text);
  r = serve_->post("/v1/chat/completions", chat_body("ladder/classify_issue", kDependencyLog));
  EXPECT_EQ(r.json_body()["ladder"]["route"], "local") << r.body;
}

// A second server without the embedded model: its local tier is an OpenAI-compatible
// fake, one worker and no queue, health checks every 200 ms.
class ServeLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-not-secret", 1);
    setenv("LADDER_TEST_ADMIN", kAdminToken.c_str(), 1);
    dir_ = fs::temp_directory_path() / ("ladder-serve-limits-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    ASSERT_GT(frontier_.port, 0);
    ASSERT_GT(local_.port, 0);
    write_file(dir_ + "/policy.yaml", fake_tiers_policy_text(frontier_.port, local_.port));
    serve_ = std::make_unique<Serve>(
        std::vector<std::string>{"--health-interval-ms", "200", "--workers", "1", "--max-queue", "0", "--audit",
                                 dir_ + "/audit.jsonl", "--admin-token-env", "LADDER_TEST_ADMIN"},
        dir_ + "/policy.yaml");
    ASSERT_GT(serve_->port, 0);
  }
  void TearDown() override {
    serve_.reset();
    fs::remove_all(dir_);
  }
  std::string dir_;
  Fake frontier_;
  Fake local_;
  std::unique_ptr<Serve> serve_;
};

// With network models everywhere, a macro run is what is left on the worker pool: the
// only worker is held in a /v1/run's local tier call, and the next run finds no room.
TEST_F(ServeLimitsTest, FullQueueGets429WithRetryAfter) {
  local_.control("/_fail", {{"mode", "hold"}, {"count", 1}, {"delay_ms", 20000}});
  const json run = {{"request", "Triage the open issues of acme/widgets"}};
  auto held = std::async(std::launch::async, [&] { return serve_->post("/v1/run", run); });
  Response waited = http(local_.port, "POST", "/_wait_held", json{{"count", 1}, {"timeout_ms", 10000}}.dump());
  ASSERT_EQ(waited.status, 200) << waited.body;

  Response busy = serve_->post("/v1/run", run);
  EXPECT_EQ(busy.status, 429) << busy.body;
  EXPECT_EQ(busy.header("retry-after"), "1");
  EXPECT_EQ(busy.json_body()["error"]["type"], "rate_limit_error");
  EXPECT_EQ(busy.json_body()["error"]["code"], "rate_limited");
  EXPECT_EQ(http(serve_->port, "GET", "/healthz", "").status, 200) << "I/O stays responsive while workers are busy";
  EXPECT_EQ(serve_->post("/v1/chat/completions", chat_body("claude-sonnet-4-5", "not on a worker")).status, 200)
      << "a pass-through needs no worker";

  local_.control("/_release", json::object());
  EXPECT_NE(held.get().status, 429);
  EXPECT_NE(serve_->post("/v1/run", run).status, 429) << "the worker is free again";
}

TEST_F(ServeLimitsTest, UnhealthyLocalBackendIsSkippedUntilItRecovers) {
  // Health probes (GET /v1/models) fail from now on.
  local_.control("/_fail", {{"mode", "503"}, {"count", 100000}});
  Response ready;
  for (int i = 0; i < 50; ++i) {
    ready = http(serve_->port, "GET", "/readyz", "");
    if (ready.status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(ready.status, 503) << ready.body;
  EXPECT_FALSE(ready.json_body()["models"]["gemma-local"]["healthy"].get<bool>());
  Response r = serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", "make: *** [all] Error 2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json d = r.json_body()["decision"];
  EXPECT_EQ(d["reason"], "local_unavailable") << d.dump(2);
  EXPECT_EQ(d["tiers"][0]["error"]["code"], "unavailable") << d.dump(2);
  EXPECT_NE(d["tiers"][0]["error"]["message"].get<std::string>().find("marked down"), std::string::npos) << d.dump(2);
  std::string metrics = http(serve_->port, "GET", "/metrics", "").body;
  EXPECT_NE(metrics.find("ladder_backend_healthy{model=\"gemma-local\"} 0"), std::string::npos);

  local_.control("/_fail", {{"mode", "none"}});
  for (int i = 0; i < 50; ++i) {
    ready = http(serve_->port, "GET", "/readyz", "");
    if (ready.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ready.status, 200) << ready.body;
  local_.control("/_answer", {{"text", "{\"label\":\"build\"}"}});
  r = serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", "make: *** [all] Error 2"}});
  EXPECT_NE(r.json_body()["decision"]["reason"], "local_unavailable") << r.body;
  EXPECT_TRUE(r.json_body()["decision"]["local_ran"].get<bool>()) << r.body;
}

TEST_F(ServeLimitsTest, SigtermFinishesRequestsInFlightThenExits) {
  const int pid = serve_->pid();
  ASSERT_GT(pid, 0);
  frontier_.control("/_fail", {{"mode", "slow"}, {"count", 1}, {"delay_ms", 1200}});
  auto slow = std::async(std::launch::async, [&] {
    return serve_->post("/v1/chat/completions", chat_body("claude-sonnet-4-5", "finish me"));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  Response done = slow.get();
  EXPECT_EQ(done.status, 200) << "a request in flight finishes on SIGTERM: " << done.body;
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = kill(pid, 0) != 0 || http(serve_->port, "GET", "/healthz", "").status == -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "the server stops accepting after SIGTERM";
}

}  // namespace
}  // namespace ladder::testing
