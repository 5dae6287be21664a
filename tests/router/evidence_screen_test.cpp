// The evidence ruling before the local model: a classify request whose input shows
// evidence for no label, for more than one, or for a label that escalates cannot stay
// local whatever the model says, so the router escalates it with the evidence
// validator's reason and never asks the model. Privacy and a shadowed rotation candidate
// still run the model. Models are tests/fakes/fake_frontier.py at the network boundary
// (the local model as an OpenAI-compatible server); the audit a real JSONL file.
#include <gtest/gtest.h>

#include "router_fixture.h"

namespace ladder {
namespace {

using nlohmann::json;
using testing::RouterFixture;

constexpr const char* kTwoLabels = "src/a.ts(3,1): error TS2322: bad type\nTests: 2 failed, 9 passed\n";
constexpr const char* kOneLabel = "src/a.ts(3,1): error TS2322: bad type\n";

class EvidenceScreenTest : public RouterFixture {
 protected:
  EvidenceScreenTest() : RouterFixture("ladder-evidence-screen-") {}
  void SetUp() override {
    RouterFixture::SetUp();
    answer(R"({"label": "build"})");
  }

  std::unique_ptr<Router> make(const std::string& extra = "") {
    const std::string yaml =
        "version: 1\ncapabilities: {privacy_forces_local: true}\nmodels:\n"
        "  small: {backend: openai, base_url: \"" +
        base_url() +
        "\", model: small, retry: {max_retries: 0}}\n"
        "  next: {backend: openai, base_url: \"" +
        base_url() +
        "\", model: next, retry: {max_retries: 0}}\n"
        "  frontier: {backend: openai, base_url: \"" +
        base_url() +
        "\", model: big, retry: {max_retries: 0}}\n"
        "tiers:\n  - {name: local, models: [small]}\n  - {name: frontier, models: [frontier]}\n"
        "tasks:\n"
        "  triage:\n"
        "    kind: classify\n"
        "    labels: [build, test, unknown]\n"
        "    escalate_labels: [unknown]\n"
        "    min_confidence: 0\n"
        "    evidence:\n"
        "      build: [{id: diag-code, pattern: '\\berror TS\\d{4}\\b'}]\n"
        "      test: [{id: counts, pattern: '\\b\\d+ failed\\b'}]\n"
        "      unknown: [{id: disk, pattern: 'no space left on device'}]\n" +
        extra;
    return router_for(yaml);
  }
  Decision route(Router& router, const std::string& input, bool privacy = false) {
    RouteRequest req;
    req.task = "triage";
    req.input = input;
    req.options.privacy = privacy;
    auto d = router.route(req);
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return d.ok() ? std::move(d).value() : Decision{};
  }
  // Chat calls the fake received for `model`.
  std::size_t calls_for(const std::string& model) {
    std::size_t n = 0;
    for (const auto& r : requests())
      if (r["method"] == "POST" && r["body"].is_object() && r["body"].value("model", "") == model) ++n;
    return n;
  }
  static bool has_stage(const Decision& d, const std::string& stage) {
    for (const auto& s : d.stages)
      if (s.stage == stage) return true;
    return false;
  }
};

TEST_F(EvidenceScreenTest, EvidenceForTwoLabelsEscalatesWithoutAskingTheModel) {
  auto router = make();
  Decision d = route(*router, kTwoLabels);
  EXPECT_EQ(d.route, "frontier");
  EXPECT_EQ(d.reason, Reason::kConfidenceLow);
  EXPECT_EQ(d.reason_detail,
            "before the local model: the input shows evidence for more than one label: "
            "build (diag-code), test (counts)");
  EXPECT_FALSE(d.local_ran);
  ASSERT_EQ(d.validators.size(), 1u);
  EXPECT_EQ(d.validators[0].validator, "evidence");
  EXPECT_FALSE(d.validators[0].passed);
  EXPECT_TRUE(has_stage(d, "evidence"));
  EXPECT_EQ(calls_for("small"), 0u) << requests().dump();
  EXPECT_EQ(calls_for("big"), 1u) << "the frontier settles it";
  EXPECT_TRUE(d.frontier_ok);

  const json record = last_record();
  EXPECT_EQ(record["reason"], "confidence_low");
  EXPECT_EQ(record["validators"][0]["validator"], "evidence") << record.dump(2);
}

TEST_F(EvidenceScreenTest, EvidenceForAnEscalatingLabelOrNoneEscalatesWithoutTheModel) {
  auto router = make();
  Decision disk = route(*router, "error TS2345\nwrite /tmp/x: no space left on device\n");
  EXPECT_EQ(disk.reason, Reason::kLabelEscalates);
  EXPECT_NE(disk.reason_detail.find("evidence for unknown, which escalates"), std::string::npos) << disk.reason_detail;

  Decision none = route(*router, "something went wrong\n");
  EXPECT_EQ(none.reason, Reason::kConfidenceLow);
  EXPECT_EQ(none.reason_detail, "before the local model: no evidence in the input for any label");
  EXPECT_FALSE(disk.local_ran || none.local_ran);
  EXPECT_EQ(calls_for("small"), 0u) << requests().dump();
}

TEST_F(EvidenceScreenTest, EvidenceForOneLabelLeavesItToTheModel) {
  auto router = make();
  Decision d = route(*router, kOneLabel);
  EXPECT_TRUE(d.local_ran);
  EXPECT_EQ(calls_for("small"), 1u);
  EXPECT_TRUE(has_stage(d, "evidence"));
  EXPECT_EQ(d.route, "local") << d.reason_detail;
  EXPECT_EQ(d.label, "build");
}

TEST_F(EvidenceScreenTest, PrivacyStillAsksTheModel) {
  // Under privacy nothing goes up, so the local answer is all the caller can get.
  auto router = make();
  Decision d = route(*router, kTwoLabels, /*privacy=*/true);
  EXPECT_TRUE(d.local_ran);
  EXPECT_EQ(calls_for("small"), 1u);
  EXPECT_EQ(calls_for("big"), 0u);
  EXPECT_FALSE(has_stage(d, "evidence"));
}

TEST_F(EvidenceScreenTest, ShadowedRotationRunsTheLiveModelAndTheCandidate) {
  auto router = make("rotation: {candidate: next}\n");
  Decision d = route(*router, kTwoLabels);
  EXPECT_TRUE(d.local_ran);
  EXPECT_EQ(d.route, "frontier");
  EXPECT_EQ(d.reason, Reason::kConfidenceLow);
  ASSERT_TRUE(d.candidate.has_value());
  EXPECT_TRUE(d.candidate->error.empty()) << d.candidate->error;
  EXPECT_EQ(d.candidate->label, "build");
  EXPECT_FALSE(d.candidate->would_accept);
  EXPECT_EQ(calls_for("small"), 1u);
  EXPECT_EQ(calls_for("next"), 1u);
}

}  // namespace
}  // namespace ladder
