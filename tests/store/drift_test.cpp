// Argument drift on constructed distributions (src/store/drift.h).
#include "store/drift.h"

#include <gtest/gtest.h>

namespace ladder::store {
namespace {

// n decisions of macro `m` on day `day` (2026-11-0{day+1}) with args from make(i).
template <typename F>
void add(std::vector<StoredDecision>& out, int day, int n, F make, const std::string& m = "stale_sweep_v1") {
  for (int i = 0; i < n; ++i) {
    StoredDecision d;
    d.id = static_cast<std::int64_t>(out.size() + 1);
    char ts[40];
    std::snprintf(ts, sizeof ts, "2026-11-%02dT%02d:00:00.000Z", day + 1, i % 24);
    d.record = {{"ts", ts}, {"macro", m}, {"args", make(i)}};
    out.push_back(std::move(d));
  }
}

const ArgumentDrift* find(const std::vector<ArgumentDrift>& drift, const std::string& arg) {
  for (const auto& d : drift)
    if (d.argument == arg) return &d;
  return nullptr;
}

TEST(DriftTest, SameDistributionIsNotFlagged) {
  std::vector<StoredDecision> ds;
  for (int day = 0; day < 3; ++day)
    add(ds, day, 40, [](int i) { return nlohmann::json{{"action", i % 4 == 0 ? "close" : "comment"}}; });
  const auto drift = compute_drift(ds);
  const auto* a = find(drift, "action");
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(a->numeric);
  ASSERT_EQ(a->windows.size(), 3u);
  EXPECT_FALSE(a->windows[0].score.has_value());  // the reference
  EXPECT_LT(a->max_score, 0.01);
  EXPECT_FALSE(a->flagged);
  EXPECT_EQ(a->windows[1].counts.at("close"), 10);
}

TEST(DriftTest, MovedDistributionIsFlaggedInItsWindow) {
  std::vector<StoredDecision> ds;
  add(ds, 0, 40, [](int i) { return nlohmann::json{{"action", i % 4 == 0 ? "close" : "comment"}}; });
  add(ds, 1, 40, [](int i) { return nlohmann::json{{"action", i % 4 == 0 ? "close" : "comment"}}; });
  add(ds, 2, 40, [](int i) { return nlohmann::json{{"action", i % 4 == 0 ? "comment" : "close"}}; });
  const auto* a = find(compute_drift(ds), "action");
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(a->windows[1].flagged);
  EXPECT_TRUE(a->windows[2].flagged);
  EXPECT_GT(*a->windows[2].score, 0.1);
  EXPECT_TRUE(a->flagged);
}

TEST(DriftTest, NumbersAreBinnedAndAShiftIsFlagged) {
  std::vector<StoredDecision> ds;
  add(ds, 0, 50, [](int i) { return nlohmann::json{{"days", 10 + i % 10}}; });
  add(ds, 1, 50, [](int i) { return nlohmann::json{{"days", 80 + i % 10}}; });
  const auto* a = find(compute_drift(ds), "days");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->numeric);
  EXPECT_LE(a->windows[0].counts.size(), 10u);
  EXPECT_TRUE(a->windows[1].flagged);
}

TEST(DriftTest, AgainstPreviousWindowComparesNeighbours) {
  std::vector<StoredDecision> ds;
  add(ds, 0, 40, [](int) { return nlohmann::json{{"flag", true}}; });
  add(ds, 1, 40, [](int) { return nlohmann::json{{"flag", false}}; });
  add(ds, 2, 40, [](int) { return nlohmann::json{{"flag", false}}; });
  DriftOptions prev;
  prev.against_previous = true;
  const auto* p = find(compute_drift(ds, prev), "flag");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->numeric);  // bools are categories
  EXPECT_TRUE(p->windows[1].flagged);
  EXPECT_FALSE(p->windows[2].flagged);  // same as its previous window
  const auto* f = find(compute_drift(ds), "flag");
  EXPECT_TRUE(f->windows[2].flagged);  // still far from the first
}

TEST(DriftTest, EmptyAndSingleWindow) {
  EXPECT_TRUE(compute_drift({}).empty());
  std::vector<StoredDecision> ds;
  add(ds, 0, 30, [](int i) { return nlohmann::json{{"action", i % 2 ? "a" : "b"}}; });
  const auto* a = find(compute_drift(ds), "action");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->windows.size(), 1u);
  EXPECT_FALSE(a->flagged);
  EXPECT_EQ(drift_json(compute_drift(ds))[0]["windows"][0]["score"], nullptr);
}

TEST(DriftTest, AbsentValuesAreACategoryAndDecisionsWithoutMacroAreSkipped) {
  std::vector<StoredDecision> ds;
  add(ds, 0, 40, [](int) { return nlohmann::json{{"owner", "acme"}}; });
  add(ds, 1, 40, [](int) { return nlohmann::json::object(); });
  StoredDecision plain;
  plain.record = {{"ts", "2026-11-01T00:00:00.000Z"}, {"macro", nullptr}, {"args", nullptr}};
  ds.push_back(plain);
  const auto drift = compute_drift(ds);
  ASSERT_EQ(drift.size(), 1u);
  const auto* o = find(drift, "owner");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->windows[1].counts.at("<absent>"), 40);
  EXPECT_TRUE(o->windows[1].flagged);
}

TEST(DriftTest, SmallWindowsAreScoredButNotFlagged) {
  std::vector<StoredDecision> ds;
  add(ds, 0, 5, [](int) { return nlohmann::json{{"action", "close"}}; });
  add(ds, 1, 5, [](int) { return nlohmann::json{{"action", "comment"}}; });
  const auto* a = find(compute_drift(ds), "action");
  ASSERT_NE(a, nullptr);
  EXPECT_GT(*a->windows[1].score, 0.1);
  EXPECT_FALSE(a->flagged);
}

TEST(DriftTest, JensenShannonBounds) {
  EXPECT_NEAR(jensen_shannon({{"a", 10}}, {{"a", 10}}), 0.0, 1e-12);
  EXPECT_GT(jensen_shannon({{"a", 1000}}, {{"b", 1000}}), 0.99);
  EXPECT_EQ(jensen_shannon({}, {}), 0.0);
}

}  // namespace
}  // namespace ladder::store
