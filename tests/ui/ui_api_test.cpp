// The web UI's API without HTTP: access and cross-site guards, filters and their bad
// values, the decision list and one decision's path over a real SQLite store, reviews,
// the dashboard's series, and the compiled-in assets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "config/loader.h"
#include "store/stats.h"
#include "store/stats_policy.h"
#include "store/store.h"
#include "ui/assets.h"
#include "ui/ui_api.h"

namespace ladder::ui {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string& kPolicy = testing::kStatsPolicy;

json tier(int index, const std::string& model, double ms, bool ok = true) {
  return {{"tier", index},          {"tier_name", index == 0 ? "local" : "frontier"},
          {"model_name", model},    {"ok", ok},
          {"latency_ms", ms},       {"prompt_tokens", 100},
          {"completion_tokens", 10}};
}

json local_record(const std::string& ts, double confidence) {
  return {{"ts", ts},
          {"request_id", "req_local"},
          {"task", "triage"},
          {"route", "local"},
          {"reason", nullptr},
          {"label", "build"},
          {"confidence", confidence},
          {"local_ran", true},
          {"local_tries", json::array({{{"tier", 0}, {"tier_name", "local"}, {"accepted", true}}})},
          {"validators", json::array({{{"validator", "labels"}, {"passed", true}}})},
          {"tiers", json::array({tier(0, "small", 800)})},
          {"stages", {{"gates", 0.1}, {"hard_stop_scan", 0.2}, {"local", 800.0}}},
          {"hard_stop", nullptr},
          {"reduction", nullptr},
          {"total_ms", 801}};
}

json escalated_record(const std::string& ts) {
  return {{"ts", ts},
          {"request_id", "req_up"},
          {"task", "triage"},
          {"route", "frontier"},
          {"reason", "confidence_low"},
          {"reason_detail", "0.21 < 0.4"},
          {"confidence", 0.21},
          {"frontier_ok", true},
          {"local_ran", true},
          {"input_sha256", "abc"},
          {"validators", json::array({{{"validator", "confidence"}, {"passed", false}, {"reason", "confidence_low"}}})},
          {"tiers", json::array({tier(0, "small", 700), tier(1, "big", 300)})},
          {"stages", {{"gates", 0.1}, {"local", 700.0}, {"frontier", 300.0}}},
          {"reduction",
           {{"original_bytes", 5000},
            {"original_lines", 200},
            {"reduced_bytes", 900},
            {"kept_lines", 12},
            {"decisive_lines", 3},
            {"reduced_tokens", 250}}},
          {"total_ms", 1001}};
}

json pass_through_record(const std::string& ts) {
  return {{"ts", ts}, {"route", "pass_through"}, {"model_name", "big"}, {"ok", true}, {"latency_ms", 10}};
}

class UiApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = fs::temp_directory_path() / ("ladder-ui-test-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    fs::create_directories(dir_);
    auto config = load_policy_yaml(kPolicy, "policy.yaml", dir_.string());
    ASSERT_TRUE(config.ok()) << config.status().to_string();
    config_ = *config;
    StoreConfig cfg;
    cfg.kind = StoreConfig::Kind::kSqlite;
    cfg.path = (dir_ / "ladder.db").string();
    auto store = store::open_record_store(cfg);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    // ids 1..4: local (2 h ago), escalated (1 h ago), pass-through, local (now).
    ASSERT_TRUE(store_
                    ->write_batch({local_record(store::rfc3339_seconds_ago(7200), 0.9),
                                   escalated_record(store::rfc3339_seconds_ago(3600)),
                                   pass_through_record(store::rfc3339_seconds_ago(3000)),
                                   local_record(store::rfc3339_seconds_ago(10), 0.55)})
                    .ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<store::StoredDecision> all() {
    auto rows = store_->query({});
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<store::StoredDecision>{};
  }
  Result<DecisionQuery> query(const std::string& text, std::string* param = nullptr) {
    auto q = parse_query(text, param);
    if (!q.ok()) return q.status();
    return parse_decision_query(*q, *config_, param);
  }

  fs::path dir_;
  ConfigPtr config_;
  std::unique_ptr<store::RecordStore> store_;
};

// ---- access ---------------------------------------------------------------------------------

TEST(UiAccess, AdminTokenOrAKeyAndNothingElse) {
  server::KeyRing keys;
  keys.add("alice", "sk-alice");
  ApiAccess access{"admin-secret", &keys};
  ApiRequestHead head;
  head.authorization = "Bearer admin-secret";
  EXPECT_EQ(*authorize(access, head), "admin");
  head.authorization = "Bearer sk-alice";
  EXPECT_EQ(*authorize(access, head), "alice");
  head.authorization.clear();
  head.x_api_key = "sk-alice";
  EXPECT_EQ(*authorize(access, head), "alice");
  head.x_api_key = "sk-wrong";
  EXPECT_EQ(authorize(access, head).status().code(), ErrorCode::kUnauthenticated);
  head.x_api_key.clear();
  EXPECT_EQ(authorize(access, head).status().code(), ErrorCode::kUnauthenticated);
  // Neither configured: the data is off, not open to anyone.
  EXPECT_EQ(authorize(ApiAccess{"", nullptr}, head).status().code(), ErrorCode::kPermissionDenied);
  server::KeyRing none;
  head.authorization = "Bearer anything";
  EXPECT_EQ(authorize(ApiAccess{"", &none}, head).status().code(), ErrorCode::kPermissionDenied);
}

TEST(UiAccess, CrossSiteRequestsAreRefused) {
  ApiRequestHead head;
  head.host = "127.0.0.1:8080";
  std::string param;
  EXPECT_TRUE(check_request_guards(head, &param).ok());
  head.origin = "http://127.0.0.1:8080";
  EXPECT_TRUE(check_request_guards(head, &param).ok());
  head.origin = "http://evil.example";
  EXPECT_EQ(check_request_guards(head, &param).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(param, "Origin");
  head.origin.clear();
  head.sec_fetch_site = "cross-site";
  EXPECT_EQ(check_request_guards(head, &param).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(param, "Sec-Fetch-Site");
  head.sec_fetch_site = "same-origin";
  head.post = true;
  head.content_type = "text/plain";  // what a cross-site form may send without a preflight
  EXPECT_EQ(check_request_guards(head, &param).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "Content-Type");
  head.content_type = "application/x-www-form-urlencoded";
  EXPECT_EQ(check_request_guards(head, &param).code(), ErrorCode::kInvalidArgument);
  head.content_type = "Application/JSON; charset=utf-8";
  EXPECT_TRUE(check_request_guards(head, &param).ok());
  head.body_bytes = kMaxApiBodyBytes + 1;
  EXPECT_EQ(check_request_guards(head, &param).code(), ErrorCode::kPayloadTooLarge);
}

TEST(UiAccess, EveryReplyCarriesTheSecurityHeaders) {
  std::map<std::string, std::string> h;
  for (const auto& [k, v] : security_headers()) h[k] = v;
  EXPECT_EQ(h["Content-Security-Policy"].rfind("default-src 'self'", 0), 0u);
  EXPECT_EQ(h["Content-Security-Policy"].find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(h["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(h["X-Frame-Options"], "DENY");
}

// ---- filters --------------------------------------------------------------------------------

TEST(UiQuery, DecodesAndRefusesBadStrings) {
  std::string param;
  auto q = parse_query("task=triage&note=a+b%20c&empty=", &param);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)["task"], "triage");
  EXPECT_EQ((*q)["note"], "a b c");
  EXPECT_EQ((*q)["empty"], "");
  EXPECT_EQ(parse_query("a=%zz", &param).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_query("a=%4", &param).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_query("a=%ff%fe", &param).status().code(), ErrorCode::kInvalidUtf8);
  EXPECT_EQ(param, "a");
  EXPECT_EQ(parse_query("a=1&a=2", &param).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_query(std::string(3000, 'x'), &param).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(UiApiTest, BadFilterValuesNameTheirParameter) {
  const std::pair<const char*, ErrorCode> cases[] = {
      {"route=sideways", ErrorCode::kInvalidArgument},
      {"reason=bored", ErrorCode::kInvalidArgument},
      {"task=nope", ErrorCode::kNotFound},
      {"model=nope", ErrorCode::kNotFound},
      {"since=yesterday", ErrorCode::kInvalidArgument},
      {"limit=0", ErrorCode::kInvalidArgument},
      {"limit=501", ErrorCode::kInvalidArgument},
      {"offset=-1", ErrorCode::kInvalidArgument},
      {"colour=blue", ErrorCode::kInvalidArgument},
  };
  for (const auto& [text, code] : cases) {
    std::string param;
    auto q = query(text, &param);
    ASSERT_FALSE(q.ok()) << text;
    EXPECT_EQ(q.status().code(), code) << text;
    EXPECT_EQ(param, std::string(text).substr(0, std::string(text).find('='))) << text;
  }
}

TEST_F(UiApiTest, ListFiltersNewestFirstAndSkipsPassThrough) {
  auto rows = all();
  ASSERT_EQ(rows.size(), 4u);
  json page = decisions_page(rows, *query(""));
  EXPECT_EQ(page["total"], 3);  // the pass-through call is not a decision
  ASSERT_EQ(page["decisions"].size(), 3u);
  EXPECT_EQ(page["decisions"][0]["id"], 4);
  EXPECT_EQ(page["decisions"][2]["id"], 1);
  EXPECT_EQ(page["decisions"][1]["model"], "big");  // the model that answered
  EXPECT_EQ(decisions_page(rows, *query("route=frontier"))["total"], 1);
  EXPECT_EQ(decisions_page(rows, *query("reason=confidence_low"))["decisions"][0]["id"], 2);
  EXPECT_EQ(decisions_page(rows, *query("model=big"))["total"], 1);
  EXPECT_EQ(decisions_page(rows, *query("model=small"))["total"], 3);
  EXPECT_EQ(decisions_page(rows, *query("task=review"))["total"], 0);
  json paged = decisions_page(rows, *query("limit=1&offset=1"));
  EXPECT_EQ(paged["total"], 3);
  ASSERT_EQ(paged["decisions"].size(), 1u);
  EXPECT_EQ(paged["decisions"][0]["id"], 2);
  // The time filter goes to the store: the last 30 minutes hold one decision.
  auto recent = store_->query(store_filter(*query("since=30m")));
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(decisions_page(*recent, *query("since=30m"))["total"], 1);
}

TEST_F(UiApiTest, DetailShowsTheWholePathAndTheReview) {
  ASSERT_TRUE(store_->put_review(2, "defect", "wrong root cause", store::rfc3339_seconds_ago(0)).ok());
  store::DecisionFilter f;
  f.id = 2;
  auto rows = store_->query(f);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  json d = decision_detail(rows->front());
  EXPECT_EQ(d["id"], 2);
  EXPECT_EQ(d["path"]["screen"]["gates_ms"], 0.1);
  EXPECT_EQ(d["path"]["reduce"]["kept_lines"], 12);
  EXPECT_EQ(d["path"]["local"]["confidence"], 0.21);
  EXPECT_EQ(d["path"]["validators"][0]["reason"], "confidence_low");
  ASSERT_EQ(d["path"]["tiers"].size(), 2u);
  EXPECT_EQ(d["path"]["tiers"][1]["latency_ms"], 300);
  EXPECT_TRUE(d["path"]["escalation"]["escalated"].get<bool>());
  EXPECT_EQ(d["path"]["escalation"]["packet"]["reason"], "confidence_low");
  EXPECT_EQ(d["path"]["escalation"]["packet"]["input"], "reduced");
  EXPECT_EQ(d["path"]["escalation"]["packet"]["sent_to"][0]["model_name"], "big");
  EXPECT_EQ(d["review"]["label"], "defect");
  EXPECT_EQ(d["review"]["note"], "wrong root cause");
  EXPECT_EQ(d["record"]["request_id"], "req_up");
}

TEST(UiIds, OnlyPositiveDecimalIds) {
  EXPECT_EQ(*parse_decision_id("42"), 42);
  for (const char* bad : {"", "0", "-3", "12x", "abc", "1e3", "1234567890123456789"})
    EXPECT_EQ(parse_decision_id(bad).status().code(), ErrorCode::kInvalidArgument) << bad;
}

TEST(UiReview, BodyRulesMatchTheCli) {
  std::string param;
  auto ok = parse_review(R"({"label":"accept","note":"fine"})", &param);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->label, "accept");
  EXPECT_EQ(ok->note, "fine");
  EXPECT_TRUE(parse_review(R"({"label":"defect"})", &param).ok());
  EXPECT_EQ(parse_review(R"({"label":"maybe"})", &param).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "label");
  EXPECT_EQ(parse_review(R"({"note":"x"})", &param).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_review(R"({"label":"accept","note":7})", &param).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "note");
  const std::string long_note = R"({"label":"accept","note":")" + std::string(4001, 'n') + "\"}";
  EXPECT_EQ(parse_review(long_note, &param).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_review(R"({"label":"accept","by":"me"})", &param).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "by");
  EXPECT_EQ(parse_review("{\"label\":\"accept\",\"note\":\"\xff\"}", &param).status().code(), ErrorCode::kInvalidUtf8);
  EXPECT_EQ(parse_review("[1]", &param).status().code(), ErrorCode::kParseError);
  EXPECT_EQ(parse_review("{", &param).status().code(), ErrorCode::kParseError);
}

TEST_F(UiApiTest, ReviewOfAnUnknownDecisionIsNotFound) {
  EXPECT_EQ(store_->put_review(999, "accept", "", store::rfc3339_seconds_ago(0)).code(), ErrorCode::kNotFound);
}

TEST(UiPlayground, BodyRules) {
  std::string param;
  auto in = parse_playground_route(R"({"task":"triage","input":"make: *** Error 1","privacy":true})", &param);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->task, "triage");
  EXPECT_TRUE(in->privacy);
  EXPECT_TRUE(parse_playground_route(R"({"input":"x"})", &param).ok());
  EXPECT_EQ(parse_playground_route(R"({"input":""})", &param).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "input");
  EXPECT_EQ(parse_playground_route(R"({"input":"x","task":"no spaces allowed"})", &param).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "task");
  EXPECT_EQ(parse_playground_route(R"({"input":"x","privacy":"yes"})", &param).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_playground_route(R"({"input":"x","model":"big"})", &param).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "model");
}

// ---- dashboard ------------------------------------------------------------------------------

TEST_F(UiApiTest, DashboardSeriesTotalsAndReliability) {
  ASSERT_TRUE(store_->put_review(1, "accept", "", store::rfc3339_seconds_ago(0)).ok());
  ASSERT_TRUE(store_->put_review(4, "defect", "", store::rfc3339_seconds_ago(0)).ok());
  std::string param;
  auto q = parse_dashboard_query(*parse_query("since=3h&bucket=1h", &param), *config_, &param);
  ASSERT_TRUE(q.ok()) << q.status().to_string();
  const std::int64_t now = *store::epoch_seconds(store::rfc3339_seconds_ago(0));
  json d = dashboard_json(all(), *config_, *q, now);
  EXPECT_EQ(d["totals"]["decisions"], 3);
  EXPECT_EQ(d["totals"]["local"], 2);
  EXPECT_EQ(d["totals"]["reviewed_local"], 2);
  // 3 h in 1 h buckets aligned to the hour: 4 buckets (the partial ones at both ends).
  ASSERT_EQ(d["series"].size(), 4u);
  std::int64_t in_series = 0;
  bool saw_escalation = false;
  for (const auto& b : d["series"]) {
    in_series += b["decisions"].get<std::int64_t>();
    if (b["escalation_rate"].contains("triage") && b["escalation_rate"]["triage"] == 1.0) saw_escalation = true;
    if (b["decisions"] == 0) {
      EXPECT_TRUE(b["local_acceptance"].is_null());
    }
  }
  EXPECT_EQ(in_series, 3);
  EXPECT_TRUE(saw_escalation);
  EXPECT_EQ(d["escalations_by_task"]["triage"]["confidence_low"], 1);
  EXPECT_EQ(d["stages"]["local"]["count"], 3);
  EXPECT_EQ(d["stages"]["frontier"]["count"], 1);
  // Reviewed local answers: 0.9 accepted, 0.55 a defect.
  EXPECT_EQ(d["reliability"]["n"], 2);
  int filled = 0;
  for (const auto& b : d["reliability"]["bins"])
    if (b["n"] > 0) {
      ++filled;
      EXPECT_EQ(b["accuracy"], b["mean_confidence"] > 0.8 ? 1.0 : 0.0);
    }
  EXPECT_EQ(filled, 2);
  EXPECT_TRUE(d["drift"].is_array());
}

TEST_F(UiApiTest, DashboardQueryBounds) {
  std::string param;
  auto too_many = parse_dashboard_query(*parse_query("since=30d&bucket=1m", &param), *config_, &param);
  EXPECT_EQ(too_many.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "bucket");
  EXPECT_EQ(parse_dashboard_query(*parse_query("since=soon", &param), *config_, &param).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "since");
  EXPECT_EQ(parse_dashboard_query(*parse_query("task=nope", &param), *config_, &param).status().code(),
            ErrorCode::kNotFound);
  auto fallback = parse_dashboard_query({}, *config_, &param);
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(fallback->since_seconds, 7 * 86400);
  EXPECT_EQ(fallback->bucket_seconds, 7 * 86400 / 24);
}

TEST_F(UiApiTest, MetaListsWhatTheMenusOffer) {
  json m = meta_json(*config_);
  EXPECT_EQ(m["tasks"].size(), 2u);
  EXPECT_EQ(m["tasks"][0]["kind"], "classify");
  EXPECT_EQ(m["models"], json({"big", "small"}));
  EXPECT_NE(std::find(m["reasons"].begin(), m["reasons"].end(), "confidence_low"), m["reasons"].end());
  EXPECT_EQ(m["reasons"].size(), 13u);
}

// ---- assets ---------------------------------------------------------------------------------

TEST(UiAssets, CompiledInWithNoInlineScriptOrStyle) {
  for (const char* name :
       {"index.html", "app.css", "app.js", "charts.js", "dashboard.js", "decisions.js", "playground.js"}) {
    const Asset* a = find_asset(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_GT(a->bytes.size(), 100u) << name;
  }
  EXPECT_EQ(find_asset("index.html")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(find_asset("app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_asset("../index.html"), nullptr);
  EXPECT_EQ(find_asset("nope.js"), nullptr);
  const std::string_view html = find_asset("index.html")->bytes;
  for (std::size_t at = html.find("<script"); at != std::string_view::npos; at = html.find("<script", at + 1))
    EXPECT_NE(html.substr(at, html.find('>', at) - at).find("src="), std::string_view::npos) << "an inline script";
  EXPECT_EQ(html.find("style="), std::string_view::npos);
  EXPECT_EQ(html.find("<style"), std::string_view::npos);
  EXPECT_EQ(html.find("http://"), std::string_view::npos);  // nothing from elsewhere
  EXPECT_EQ(html.find("https://"), std::string_view::npos);
  for (const auto& f : embedded_files()) {
    if (f.name.size() > 3 && f.name.substr(f.name.size() - 3) == ".js") {
      EXPECT_EQ(f.bytes.find("innerHTML"), std::string_view::npos) << f.name;
      EXPECT_EQ(f.bytes.find("eval("), std::string_view::npos) << f.name;
      EXPECT_EQ(f.bytes.find("import(\"http"), std::string_view::npos) << f.name;
    }
  }
}

}  // namespace
}  // namespace ladder::ui
