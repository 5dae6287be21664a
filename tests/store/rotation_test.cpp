// Rotation report over records with a `candidate` shadow result (src/store/rotation.h).
#include "store/rotation.h"

#include <gtest/gtest.h>

namespace ladder::store {
namespace {

StoredDecision decision(const std::string& route, const std::string& label, const nlohmann::json& candidate,
                        double live_ms, const std::string& review = "", bool hard_stop = false) {
  StoredDecision d;
  d.record = {{"task", "triage"},
              {"route", route},
              {"label", label},
              {"hard_stop", hard_stop ? nlohmann::json{{"category", "secret"}} : nlohmann::json(nullptr)},
              {"tiers", nlohmann::json::array({{{"model_name", "small"}, {"latency_ms", live_ms}}})}};
  if (!candidate.is_null()) d.record["candidate"] = candidate;
  d.review = review;
  return d;
}

nlohmann::json cand(const std::string& label, bool accept, double ms) {
  return {{"model", "small-next"}, {"label", label}, {"would_accept", accept}, {"latency_ms", ms}};
}

TEST(RotationTest, AgreementAcceptanceFalseAcceptsAndLatency) {
  std::vector<StoredDecision> ds = {
      decision("local", "build", cand("build", true, 100), 200),
      decision("local", "build", cand("other", true, 110), 210, "defect"),  // would-be false accept
      decision("frontier", "", cand("build", true, 120), 220, "", true),    // hard stop escalated
      decision("frontier", "other", cand("other", false, 130), 230),
      decision("local", "build", nullptr, 999),  // not shadowed: skipped
  };
  const auto r = compute_rotation(ds);
  ASSERT_EQ(r.size(), 1u);
  const RotationTask& t = r.at("triage");
  EXPECT_EQ(t.candidate_model, "small-next");
  EXPECT_EQ(t.shadowed, 4);
  EXPECT_EQ(t.agreed, 2);
  EXPECT_DOUBLE_EQ(*t.agreement, 0.5);
  EXPECT_DOUBLE_EQ(*t.live_acceptance, 0.5);
  EXPECT_DOUBLE_EQ(*t.candidate_acceptance, 0.75);
  EXPECT_EQ(t.would_be_false_accepts, 2);
  EXPECT_EQ(t.live_latency_ms.count, 4);
  EXPECT_DOUBLE_EQ(t.live_latency_ms.p50, 210);
  EXPECT_DOUBLE_EQ(t.candidate_latency_ms.p95, 130);
  const auto j = rotation_json(r);
  EXPECT_EQ(j["triage"]["would_be_false_accepts"], 2);
  EXPECT_EQ(j["triage"]["candidate_latency_ms"]["p50"], 110);
}

TEST(RotationTest, NoShadowedDecisionsGiveAnEmptyReport) {
  EXPECT_TRUE(compute_rotation({decision("local", "build", nullptr, 5)}).empty());
  EXPECT_TRUE(rotation_json({}).empty());
}

}  // namespace
}  // namespace ladder::store
