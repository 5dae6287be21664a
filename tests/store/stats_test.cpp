// compute_stats over a store with known content: every figure checked by hand.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "config/loader.h"
#include "stats_policy.h"
#include "store/stats.h"
#include "store/store.h"

namespace ladder::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string& kPolicy = testing::kStatsPolicy;

json tier(const std::string& model, double ms, int prompt, int completion) {
  return {{"model_name", model}, {"latency_ms", ms}, {"prompt_tokens", prompt}, {"completion_tokens", completion}};
}

// 4 decisions: two local triage answers (1 s of local time, 100+10 tokens each), one
// triage escalation for low confidence (local 1 s, then big: 200+20 tokens, 300 ms total
// 1300), one review task sent straight to big by policy (500 ms).
std::vector<json> records() {
  json local = {{"ts", "2024-01-01T00:00:00.000Z"},
                {"task", "triage"},
                {"route", "local"},
                {"label", "build"},
                {"validators", json::array({{{"validator", "labels"}, {"passed", true}}})},
                {"tiers", json::array({tier("small", 1000, 100, 10)})},
                {"total_ms", 1000}};
  json escalated = {
      {"ts", "2024-01-01T00:00:01.000Z"},
      {"task", "triage"},
      {"route", "frontier"},
      {"reason", "confidence_low"},
      {"frontier_ok", true},
      {"validators", json::array({{{"validator", "confidence"}, {"passed", false}, {"reason", "confidence_low"}},
                                  {{"validator", "schema"}, {"passed", false}, {"reason", "schema_invalid"}}})},
      {"tiers", json::array({tier("small", 1000, 100, 10), tier("big", 300, 200, 20)})},
      {"total_ms", 1300}};
  json policy = {{"ts", "2024-01-01T00:00:02.000Z"},
                 {"task", "review"},
                 {"route", "frontier"},
                 {"reason", "policy_requires_frontier"},
                 {"frontier_ok", true},
                 {"tiers", json::array({tier("big", 500, 1000, 100)})},
                 {"total_ms", 500}};
  return {local, local, escalated, policy};
}

class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = fs::temp_directory_path() / ("ladder-stats-test-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    fs::create_directories(dir_);
    auto config = load_policy_yaml(kPolicy, "policy.yaml", dir_.string());
    ASSERT_TRUE(config.ok()) << config.status().to_string();
    config_ = *config;
    StoreConfig cfg;
    cfg.kind = StoreConfig::Kind::kSqlite;
    cfg.path = (dir_ / "ladder.db").string();
    auto store = open_record_store(cfg);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->write_batch(records()).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  ConfigPtr config_;
  std::unique_ptr<RecordStore> store_;
};

TEST_F(StatsTest, KnownContentGivesKnownFigures) {
  ASSERT_TRUE(store_->put_review(1, "accept", "", "2024-01-02T00:00:00.000Z").ok());
  ASSERT_TRUE(store_->put_review(2, "defect", "wrong label", "2024-01-02T00:00:00.000Z").ok());
  auto decisions = store_->query({});
  ASSERT_TRUE(decisions.ok());
  const json j = stats_json(compute_stats(*decisions, *config_));
  EXPECT_EQ(j["decisions"], 4);
  EXPECT_DOUBLE_EQ(j["local_acceptance"].get<double>(), 0.5);
  EXPECT_EQ(j["escalations_by_task"]["triage"]["escalated"], 1);
  EXPECT_EQ(j["escalations_by_task"]["triage"]["decisions"], 3);
  EXPECT_EQ(j["escalations_by_task"]["review"]["escalated"], 1);
  EXPECT_EQ(j["escalation_reasons"], json({{"confidence_low", 1}, {"policy_requires_frontier", 1}}));
  EXPECT_EQ(j["failure_reasons"], json({{"confidence_low", 1}, {"schema_invalid", 1}}));
  EXPECT_DOUBLE_EQ(j["defect_rate"].get<double>(), 0.5);
  EXPECT_EQ(j["fallback_latency_ms"]["count"], 2);
  EXPECT_DOUBLE_EQ(j["fallback_latency_ms"]["p50"].get<double>(), 500);
  EXPECT_DOUBLE_EQ(j["fallback_latency_ms"]["p95"].get<double>(), 1300);
  // Cost: local 3 s x 0.01 = 0.03; big (200x1000 + 20x2000)/1e6 = 0.24 and
  // (1000x1000 + 100x2000)/1e6 = 1.2; total 1.47 over 3 successes (one defect).
  EXPECT_NEAR(j["cost_usd"].get<double>(), 1.47, 1e-9);
  EXPECT_EQ(j["successful"], 3);
  EXPECT_NEAR(j["cost_per_successful_task"].get<double>(), 0.49, 1e-9);
  // All-frontier: the two local answers at big's price, 2 x (100x1000 + 10x2000)/1e6 =
  // 0.24, plus the frontier calls 1.44: 1.68; saving 0.21.
  EXPECT_NEAR(j["all_frontier_cost_usd"].get<double>(), 1.68, 1e-9);
  EXPECT_NEAR(j["saving_usd"].get<double>(), 0.21, 1e-9);
}

TEST_F(StatsTest, FiltersByTaskAndTime) {
  auto triage = store_->query({.since_ts = "", .task = "triage"});
  ASSERT_TRUE(triage.ok());
  EXPECT_EQ(triage->size(), 3u);
  auto late = store_->query({.since_ts = "2024-01-01T00:00:01.500Z"});
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ(late->front().record["task"], "review");
  const StatsReport none = compute_stats({}, *config_);
  EXPECT_EQ(none.decisions, 0);
  EXPECT_FALSE(none.local_acceptance.has_value());
  EXPECT_TRUE(stats_json(none)["defect_rate"].is_null());
}

// A pass-through call, a macro run and a request refused over a per-key limit are stored
// records, not routing decisions: the figures are those of the four decisions alone.
TEST_F(StatsTest, RecordsThatAreNotDecisionsAreNotCounted) {
  auto decisions = store_->query({});
  ASSERT_TRUE(decisions.ok());
  const json before = stats_json(compute_stats(*decisions, *config_));
  const json others = json::array({
      {{"ts", "2024-01-01T00:00:03.000Z"}, {"request_id", "p1"}, {"route", "pass_through"}, {"model_name", "big"}},
      {{"ts", "2024-01-01T00:00:03.100Z"}, {"request_id", "m1"}, {"kind", "macro_run"}, {"macro", "triage_v1"}},
      {{"ts", "2024-01-01T00:00:03.200Z"},
       {"request_id", "r1"},
       {"route", "rejected"},
       {"reason", "rate_limited"},
       {"limit", "requests_per_minute"}},
  });
  ASSERT_TRUE(store_->write_batch({others.begin(), others.end()}).ok());
  auto all = store_->query({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), decisions->size() + 3);
  const json after = stats_json(compute_stats(*all, *config_));
  EXPECT_EQ(after["decisions"], 4);
  EXPECT_EQ(after, before) << after.dump(2);
  EXPECT_FALSE(after["escalation_reasons"].contains("rate_limited"));
}

TEST_F(StatsTest, ReviewOfAnUnknownDecisionIsNotFound) {
  Status s = store_->put_review(999, "accept", "", "2024-01-02T00:00:00.000Z");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_NE(s.message().find("999"), std::string::npos);
  ASSERT_TRUE(store_->put_review(3, "accept", "", "t").ok());
  ASSERT_TRUE(store_->put_review(3, "defect", "changed my mind", "t").ok());  // replaces
  auto one = store_->query({.id = 3});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().review, "defect");
  EXPECT_EQ(one->front().review_note, "changed my mind");
}

TEST(DurationTest, GoodAndBad) {
  EXPECT_EQ(*parse_duration_seconds("90s"), 90);
  EXPECT_EQ(*parse_duration_seconds("30m"), 1800);
  EXPECT_EQ(*parse_duration_seconds("24h"), 86400);
  EXPECT_EQ(*parse_duration_seconds("7d"), 604800);
  for (const char* bad : {"", "d", "7", "7w", "-1h", "1.5h", "h1", "99999999999999d"})
    EXPECT_EQ(parse_duration_seconds(bad).status().code(), ErrorCode::kInvalidArgument) << bad;
}

}  // namespace
}  // namespace ladder::store
