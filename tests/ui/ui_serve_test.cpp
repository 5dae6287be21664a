// The web UI's endpoints on the real binary: `ladder serve` with the example policy, the
// real local model, the SQLite store beside the policy and the fake frontier at the
// network boundary. Pages and their headers, who may read the data, every kind of bad
// input with its stable code, the decision list, a decision's path, reviews, the
// dashboard, and the playground's stream. The browser test (tests/browser) drives the
// pages themselves.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "process.h"
#include "serve_client.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const Headers kAdmin = {{"Authorization", "Bearer " + kAdminToken}};

// The events of a server-sent event body: (name, data) in order.
std::vector<std::pair<std::string, json>> named_events(const std::string& body) {
  std::vector<std::pair<std::string, json>> out;
  std::istringstream in(body);
  std::string line, name = "message";
  while (std::getline(in, line)) {
    if (line.rfind("event: ", 0) == 0) name = line.substr(7);
    if (line.rfind("data: ", 0) == 0) {
      out.emplace_back(name, json::parse(line.substr(6), nullptr, false));
      name = "message";
    }
  }
  return out;
}

class UiServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-not-secret", 1);
    setenv("LADDER_UI_TEST_ADMIN", kAdminToken.c_str(), 1);
    dir_ = new std::string(fs::temp_directory_path() / ("ladder-ui-serve-" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    fake_ = new Fake();
    ASSERT_GT(fake_->port, 0) << "fake frontier did not start";
    write_file(*dir_ + "/keys.yaml", "alice: " + kAliceKey + "\n");
    std::string policy = example_policy_text(kModel);
    replace_all(policy, "http://127.0.0.1:8089", "http://127.0.0.1:" + std::to_string(fake_->port));
    // One decode thread: two wait on each other at every step when the other core is busy.
    replace_all(policy, "    threads: 2\n", "    threads: 1\n");
    write_file(*dir_ + "/policy.yaml", policy);  // no store: section: ladder.db beside it
    serve_ = new Serve({"--health-interval-ms", "0", "--audit", *dir_ + "/audit.jsonl", "--admin-token-env",
                        "LADDER_UI_TEST_ADMIN", "--api-keys-file", *dir_ + "/keys.yaml"},
                       *dir_ + "/policy.yaml");
    ASSERT_GT(serve_->port, 0) << "ladder serve did not start";
    for (const char* log : {"src/widget.c:57:9: error: 'count' undeclared\nmake: *** [Makefile:12: widget.o] Error 1",
                            kDependencyLog.c_str()}) {
      Response r = serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", log}});
      ASSERT_EQ(r.status, 200) << r.body;
    }
  }
  static void TearDownTestSuite() {
    delete serve_;
    delete fake_;
    fs::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(fs::exists(kModel)) << "run scripts/setup first: " << kModel; }

  static Response get(const std::string& path, const Headers& headers = kAdmin) {
    return http(serve_->port, "GET", path, "", headers);
  }
  static Response post(const std::string& path, const std::string& body, Headers headers = kAdmin) {
    return http(serve_->port, "POST", path, body, headers);
  }
  static void expect_error(const Response& r, int status, const std::string& code, const std::string& param,
                           const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    const json j = r.json_body();
    ASSERT_TRUE(j.is_object() && j.contains("error")) << what << ": " << r.body;
    EXPECT_EQ(j["error"]["code"], code) << what;
    if (!param.empty()) {
      EXPECT_EQ(j["error"]["param"], param) << what;
    }
    EXPECT_EQ(r.header("content-security-policy").rfind("default-src 'self'", 0), 0u) << what;
  }

  static std::string* dir_;
  static Fake* fake_;
  static Serve* serve_;
};

std::string* UiServeTest::dir_ = nullptr;
Fake* UiServeTest::fake_ = nullptr;
Serve* UiServeTest::serve_ = nullptr;

TEST_F(UiServeTest, PagesArePublicStaticAndCarryTheSecurityHeaders) {
  for (const char* path : {"/ui", "/ui/"}) {
    Response r = get(path, {});
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(r.header("content-security-policy").rfind("default-src 'self'", 0), 0u);
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.header("x-frame-options"), "DENY");
    EXPECT_EQ(r.header("set-cookie"), "");
    EXPECT_NE(r.body.find("/ui/app.js"), std::string::npos);
    EXPECT_EQ(r.body.find("classify_issue"), std::string::npos) << "a page holds no data";
  }
  Response js = get("/ui/dashboard.js", {});
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  expect_error(get("/ui/missing.js", {}), 404, "not_found", "", "unknown file");
  expect_error(get("/ui/assets/app.js", {}), 404, "not_found", "", "a path below the files");
  expect_error(post("/ui/", "{}", {}), 404, "not_found", "", "POST a page");
}

TEST_F(UiServeTest, DataNeedsTheAdminTokenOrAKey) {
  expect_error(get("/ui/api/meta", {}), 401, "unauthenticated", "", "no token");
  expect_error(get("/ui/api/meta", {{"Authorization", "Bearer wrong"}}), 401, "unauthenticated", "", "wrong token");
  expect_error(get("/ui/api/decisions", {{"x-api-key", "wrong"}}), 401, "unauthenticated", "", "wrong key");
  Response key = get("/ui/api/meta", {{"Authorization", "Bearer " + kAliceKey}});
  ASSERT_EQ(key.status, 200) << key.body;
  Response admin = get("/ui/api/meta");
  ASSERT_EQ(admin.status, 200) << admin.body;
  const json meta = admin.json_body();
  bool found = false;
  for (const auto& t : meta["tasks"]) found = found || t["name"] == "classify_issue";
  EXPECT_TRUE(found);
  EXPECT_EQ(admin.header("x-frame-options"), "DENY");
}

TEST_F(UiServeTest, CrossSiteRequestsAreRefused) {
  const std::string body = R"({"label":"accept"})";
  Headers evil = kAdmin;
  evil.emplace_back("Origin", "http://evil.example");
  expect_error(post("/ui/api/decisions/1/review", body, evil), 403, "permission_denied", "Origin", "another origin");
  Headers cross = kAdmin;
  cross.emplace_back("Sec-Fetch-Site", "cross-site");
  expect_error(get("/ui/api/decisions", cross), 403, "permission_denied", "Sec-Fetch-Site", "cross-site fetch");
  Headers same = kAdmin;
  same.emplace_back("Origin", "http://127.0.0.1");  // this server's Host
  EXPECT_EQ(get("/ui/api/meta", same).status, 200);
}

TEST_F(UiServeTest, BadInputHasStableCodes) {
  struct Case {
    const char* method;
    std::string path;
    std::string body;
    int status;
    const char* code;
    const char* param;
  };
  const Case cases[] = {
      {"GET", "/ui/api/decisions?route=sideways", "", 400, "invalid_argument", "route"},
      {"GET", "/ui/api/decisions?reason=bored", "", 400, "invalid_argument", "reason"},
      {"GET", "/ui/api/decisions?task=nope", "", 404, "not_found", "task"},
      {"GET", "/ui/api/decisions?model=nope", "", 404, "not_found", "model"},
      {"GET", "/ui/api/decisions?limit=9999", "", 400, "invalid_argument", "limit"},
      {"GET", "/ui/api/decisions?since=soon", "", 400, "invalid_argument", "since"},
      {"GET", "/ui/api/decisions?colour=blue", "", 400, "invalid_argument", "colour"},
      {"GET", "/ui/api/decisions?task=a&task=b", "", 400, "invalid_argument", "task"},
      {"GET", "/ui/api/decisions?since=%zz", "", 400, "invalid_argument", ""},
      {"GET", "/ui/api/decisions?since=%ff", "", 400, "invalid_utf8", ""},
      {"GET", "/ui/api/dashboard?since=30d&bucket=1m", "", 400, "invalid_argument", "bucket"},
      {"GET", "/ui/api/decisions/abc", "", 400, "invalid_argument", "id"},
      {"GET", "/ui/api/decisions/0", "", 400, "invalid_argument", "id"},
      {"GET", "/ui/api/decisions/999999", "", 404, "not_found", "id"},
      {"GET", "/ui/api/nothing", "", 404, "not_found", ""},
      {"POST", "/ui/api/decisions/1/review", R"({"label":"maybe"})", 400, "invalid_argument", "label"},
      {"POST", "/ui/api/decisions/1/review", R"({"label":"accept","by":"x"})", 400, "invalid_argument", "by"},
      {"POST", "/ui/api/decisions/1/review", "{\"label\":\"accept\",\"note\":\"\xff\"}", 400, "invalid_utf8", ""},
      {"POST", "/ui/api/decisions/1/review", "[]", 400, "parse_error", ""},
      {"POST", "/ui/api/decisions/1/review", R"({"label":"accept","note":")" + std::string(4001, 'n') + "\"}", 400,
       "invalid_argument", "note"},
      {"POST", "/ui/api/decisions/999999/review", R"({"label":"accept"})", 404, "not_found", "id"},
      {"POST", "/ui/api/decisions/1/review", std::string(70000, 'x'), 413, "payload_too_large", ""},
      {"GET", "/ui/api/decisions/1/review", "", 404, "not_found", ""},
      {"POST", "/ui/api/playground/route", R"({"task":"classify_issue"})", 400, "invalid_argument", "input"},
      {"POST", "/ui/api/playground/route", R"({"task":"no such task!","input":"x"})", 400, "invalid_argument", "task"},
      {"POST", "/ui/api/playground/route", R"({"task":"nope","input":"x"})", 404, "not_found", "task"},
      {"POST", "/ui/api/playground/run", R"({"macro":"x_v1","request":"y"})", 400, "invalid_argument", ""},
  };
  for (const auto& c : cases) {
    Response r = http(serve_->port, c.method, c.path, c.body, kAdmin);
    expect_error(r, c.status, c.code, c.param, std::string(c.method) + " " + c.path.substr(0, 80));
  }
}

TEST_F(UiServeTest, DecisionsListDetailAndReview) {
  Response list = get("/ui/api/decisions?task=classify_issue");
  ASSERT_EQ(list.status, 200) << list.body;
  const json page = list.json_body();
  ASSERT_GE(page["total"].get<int>(), 2);
  const auto& rows = page["decisions"];
  EXPECT_GT(rows[0]["id"].get<int>(), rows[1]["id"].get<int>()) << "newest first";
  const int id = rows[0]["id"];
  Response detail = get("/ui/api/decisions/" + std::to_string(id));
  ASSERT_EQ(detail.status, 200) << detail.body;
  const json d = detail.json_body();
  EXPECT_EQ(d["summary"]["task"], "classify_issue");
  EXPECT_TRUE(d["path"]["screen"]["gates_ms"].is_number());
  EXPECT_TRUE(d["path"]["validators"].is_array());
  EXPECT_GE(d["path"]["tiers"].size(), 1u);
  EXPECT_TRUE(d["path"]["tiers"][0]["latency_ms"].is_number());
  EXPECT_TRUE(d["review"].is_null());

  Response reviewed =
      post("/ui/api/decisions/" + std::to_string(id) + "/review", R"({"label":"defect","note":"wrong root cause"})");
  ASSERT_EQ(reviewed.status, 200) << reviewed.body;
  EXPECT_EQ(reviewed.json_body()["by"], "admin");
  Response again = post("/ui/api/decisions/" + std::to_string(id) + "/review", R"({"label":"accept"})",
                        {{"Authorization", "Bearer " + kAliceKey}});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json_body()["by"], "alice");
  const json after = get("/ui/api/decisions/" + std::to_string(id)).json_body();
  EXPECT_EQ(after["review"], json({{"label", "accept"}, {"note", ""}}));
  EXPECT_EQ(get("/ui/api/decisions?route=sideways").status, 400);
}

TEST_F(UiServeTest, DashboardHasTheMetricsAndTheirSeries) {
  Response r = get("/ui/api/dashboard?since=24h&bucket=1h");
  ASSERT_EQ(r.status, 200) << r.body;
  const json d = r.json_body();
  EXPECT_GE(d["totals"]["decisions"].get<int>(), 2);
  ASSERT_EQ(d["series"].size(), 25u);  // 24 h in hours aligned to the hour: both partial ends
  int in_series = 0;
  for (const auto& b : d["series"]) in_series += b["decisions"].get<int>();
  EXPECT_EQ(in_series, d["totals"]["decisions"].get<int>());
  EXPECT_TRUE(d["stages"].contains("local")) << d["stages"].dump();
  EXPECT_EQ(d["reliability"]["bins"].size(), 10u);
  EXPECT_TRUE(d["drift"].is_array());
}

TEST_F(UiServeTest, PlaygroundStreamsOneEventPerStageAndAuditsTheDecision) {
  const int before = get("/ui/api/decisions").json_body()["total"];
  Response r = post("/ui/api/playground/route", json{{"task", "classify_issue"}, {"input", kDependencyLog}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  EXPECT_EQ(r.header("content-security-policy").rfind("default-src 'self'", 0), 0u);
  auto events = named_events(r.body);
  ASSERT_GE(events.size(), 4u) << r.body;
  EXPECT_EQ(events[0].first, "start");
  EXPECT_EQ(events[0].second["task"], "classify_issue");
  std::vector<std::string> stages;
  for (std::size_t i = 1; i < events.size(); ++i) {
    ASSERT_EQ(events[i].first, "stage") << r.body;
    stages.push_back(events[i].second["stage"]);
  }
  EXPECT_EQ(stages.front(), "screen");
  EXPECT_EQ(stages[1], "local");
  EXPECT_EQ(stages[2], "validate");
  EXPECT_EQ(stages.back(), "decision");
  const json& decision = events.back().second["decision"];
  EXPECT_EQ(decision["task"], "classify_issue");
  EXPECT_EQ(decision["request_id"], events[0].second["request_id"]);
  EXPECT_EQ(r.header("x-ladder-request-id"), decision["request_id"]);
  // Audited like any other request.
  EXPECT_EQ(get("/ui/api/decisions").json_body()["total"].get<int>(), before + 1);
  // Auto: the keyword classifier picks the task.
  Response autod = post("/ui/api/playground/route", json{{"input", kDependencyLog}}.dump());
  ASSERT_EQ(autod.status, 200) << autod.body;
  EXPECT_EQ(named_events(autod.body).front().second["task"], "classify_issue");
}

}  // namespace
}  // namespace ladder::testing
