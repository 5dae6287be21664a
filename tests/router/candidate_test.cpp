// Model rotation in the router: the candidate answers in shadow beside the live local
// tier and its result lands in the decision and the audit record, whatever becomes of it
// (down, garbage) and without touching the live decision; sampling and the task list
// decide which requests are shadowed. And the replay key: read at start-up, an unset or
// malformed variable refused by name, every record's input sealed with it.
// Models are tests/fakes/fake_frontier.py at the network boundary: the live model as an
// OpenAI-compatible server, the candidate as Ollama (its own paths, so a fault can be
// aimed at it alone); the audit a real JSONL file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/seal.h"
#include "config/loader.h"
#include "router/router.h"
#include "router_fixture.h"

namespace ladder {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::RouterFixture;

constexpr const char* kKeyEnv = "LADDER_TEST_REPLAY_KEY";
const std::string kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

class CandidateTest : public RouterFixture {
 protected:
  CandidateTest() : RouterFixture("ladder-candidate-") {}
  void SetUp() override {
    RouterFixture::SetUp();
    answer(R"({"label": "build"})");
  }

  std::string policy(const std::string& candidate_url, const std::string& extra) const {
    return "version: 1\nmodels:\n"
           "  small: {backend: openai, base_url: \"" +
           base_url() +
           "\", model: small, retry: {max_retries: 0}}\n"
           "  next: {backend: ollama, base_url: \"" +
           candidate_url +
           "\", model: next, connect_timeout_ms: 500, retry: {max_retries: 0}}\n"
           "  frontier: {backend: openai, base_url: \"" +
           base_url() +
           "\", model: big, retry: {max_retries: 0}}\n"
           "tiers:\n  - {name: local, models: [small]}\n  - {name: frontier, models: [frontier]}\n"
           "tasks:\n"
           "  triage: {kind: classify, labels: [build, other], min_confidence: 0}\n"
           "  sort: {kind: classify, labels: [build, other], min_confidence: 0}\n" +
           extra;
  }
  Result<std::unique_ptr<Router>> make(const std::string& extra, const std::string& candidate_url = "") {
    return build_router(policy(candidate_url.empty() ? base_url() : candidate_url, extra));
  }
  Decision route(Router& router, const std::string& task = "triage") {
    RouteRequest req;
    req.task = task;
    req.input = "src/a.c:1: error: expected ';'";
    auto d = router.route(req);
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return d.ok() ? std::move(d).value() : Decision{};
  }
};

TEST_F(CandidateTest, CandidateAnswersInShadowAndTheRecordCarriesIt) {
  auto router = make("rotation: {candidate: next}\n");
  ASSERT_TRUE(router.ok()) << router.status().to_string();
  Decision d = route(**router);
  EXPECT_EQ(d.route, "local");
  EXPECT_EQ(d.label, "build");
  ASSERT_EQ(d.tiers.size(), 1u) << "the candidate's call is not one of the live tiers";
  ASSERT_TRUE(d.candidate.has_value());
  EXPECT_EQ(d.candidate->error, "");
  EXPECT_EQ(d.candidate->label, "build");
  EXPECT_TRUE(d.candidate->would_accept);
  const json c = last_record()["candidate"];
  EXPECT_EQ(c["model"], "next");
  EXPECT_EQ(c["label"], "build");
  EXPECT_EQ(c["would_accept"], true);
  EXPECT_TRUE(c["reason"].is_null());
  EXPECT_TRUE(c["sha256"].is_null()) << "a network model has no file to hash";
  EXPECT_EQ(c["answer_sha256"], last_record()["local_answer_sha256"]) << "the same answer as the live model";
  EXPECT_GE(c["latency_ms"].get<double>(), 0.0);
  EXPECT_TRUE(last_record()["stages"].contains("candidate")) << "what the shadow added is a stage of its own";
  bool candidate_called = false;
  for (const auto& r : requests())
    if (r["path"].get<std::string>().rfind("/api/", 0) == 0) candidate_called = true;
  EXPECT_TRUE(candidate_called) << requests().dump();
}

TEST_F(CandidateTest, ACandidateThatIsDownIsRecordedAndTheLiveDecisionStands) {
  const std::string down = "http://127.0.0.1:" + std::to_string(testing::free_port());
  auto router = make("rotation: {candidate: next}\n", down);
  ASSERT_TRUE(router.ok()) << router.status().to_string();
  Decision d = route(**router);
  EXPECT_EQ(d.route, "local");
  EXPECT_EQ(d.label, "build");
  EXPECT_FALSE(d.reason.has_value());
  ASSERT_TRUE(d.candidate.has_value());
  EXPECT_NE(d.candidate->error, "");
  const json c = last_record()["candidate"];
  EXPECT_EQ(c["model"], "next");
  ASSERT_TRUE(c["error"].is_string()) << c.dump();
  EXPECT_EQ(c.size(), 2u) << "only {model, error}: " << c.dump();
}

TEST_F(CandidateTest, ACandidateThatAnswersGarbageIsRecordedAndTheLiveDecisionStands) {
  auto router = make("rotation: {candidate: next}\n");
  ASSERT_TRUE(router.ok()) << router.status().to_string();
  fail({{"mode", "garbage"}, {"count", 1}, {"path_contains", "/api/"}});
  Decision d = route(**router);
  EXPECT_EQ(d.route, "local");
  EXPECT_EQ(d.label, "build");
  const json c = last_record()["candidate"];
  EXPECT_EQ(c["model"], "next");
  EXPECT_TRUE(c["error"].is_string()) << c.dump();
  EXPECT_FALSE(c.contains("would_accept"));
}

TEST_F(CandidateTest, OnlyTheNamedTasksAndTheSampleAreShadowed) {
  auto listed = make("rotation: {candidate: next, tasks: [triage]}\n");
  ASSERT_TRUE(listed.ok()) << listed.status().to_string();
  EXPECT_TRUE(route(**listed, "triage").candidate.has_value());
  EXPECT_FALSE(route(**listed, "sort").candidate.has_value());
  EXPECT_FALSE(last_record().contains("candidate"));

  auto none = make("rotation: {candidate: next, sample: 0}\n");
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(route(**none).candidate.has_value());
  EXPECT_FALSE(last_record()["stages"].contains("candidate"));

  // A share of requests, drawn from the request id: the same id is drawn the same way.
  auto half = make("rotation: {candidate: next, sample: 0.5}\n");
  ASSERT_TRUE(half.ok()) << half.status().to_string();
  int shadowed = 0;
  for (int i = 0; i < 40; ++i) {
    RouteRequest req;
    req.task = "triage";
    req.input = "log " + std::to_string(i);
    req.request_id = "req_fixed_" + std::to_string(i);
    auto first = (*half)->route(req);
    auto again = (*half)->route(req);
    ASSERT_TRUE(first.ok() && again.ok());
    EXPECT_EQ(first->candidate.has_value(), again->candidate.has_value()) << req.request_id;
    shadowed += first->candidate.has_value() ? 1 : 0;
  }
  EXPECT_GT(shadowed, 5);
  EXPECT_LT(shadowed, 35);
}

TEST_F(CandidateTest, ReplayKeyIsReadAtStartUpAndSealsEveryInput) {
  const std::string extra = std::string("audit:\n  replay: {key_env: ") + kKeyEnv + "}\n";
  unsetenv(kKeyEnv);
  auto unset = make(extra);
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(unset.status().message().find(kKeyEnv), std::string::npos) << unset.status().message();

  const std::string bad_value = "not-a-key-but-a-secret-4711";
  setenv(kKeyEnv, bad_value.c_str(), 1);
  auto bad = make(extra);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(kKeyEnv), std::string::npos) << bad.status().message();
  EXPECT_EQ(bad.status().message().find(bad_value), std::string::npos) << "never the value";

  setenv(kKeyEnv, kKey.c_str(), 1);
  auto router = make(extra);
  ASSERT_TRUE(router.ok()) << router.status().to_string();
  route(**router);
  const json rec = last_record();
  ASSERT_TRUE(rec.contains("sealed_input")) << rec.dump();
  auto key = audit::seal_key_from_hex(kKey);
  ASSERT_TRUE(key.ok());
  auto input = audit::unseal(*key, rec["sealed_input"]);
  ASSERT_TRUE(input.ok()) << input.status().to_string();
  EXPECT_EQ(*input, "src/a.c:1: error: expected ';'");
  unsetenv(kKeyEnv);
}

}  // namespace
}  // namespace ladder
