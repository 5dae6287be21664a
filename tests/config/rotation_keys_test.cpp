// The policy keys of model rotation (rotation:) and controlled replay (audit.replay):
// defaults, and every malformed value named by its YAML path.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/explain.h"
#include "config/loader.h"

namespace ladder {
namespace {

using ::testing::HasSubstr;

const std::string kPolicy = R"(version: 1
models:
  small: {backend: embedded, path: models/small.gguf}
  next: {backend: embedded, path: models/next.gguf}
  big: {backend: openai, base_url: "http://127.0.0.1:9000/v1", model: gpt-big}
tiers:
  - {name: local, models: [small]}
  - {name: frontier, models: [big]}
tasks:
  triage: {kind: classify, labels: [build, other], min_confidence: 0.4}
  summary: {kind: generate}
  review: {kind: generate, local: false}
)";

Result<ConfigPtr> load(const std::string& extra) {
  return load_policy_yaml(kPolicy + extra, "policy.yaml", "/base/dir");
}

std::string fail(const std::string& extra) {
  auto result = load(extra);
  EXPECT_FALSE(result.ok()) << extra;
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), ErrorCode::kConfigInvalid) << result.status().message();
  return result.status().message();
}

TEST(RotationKeysTest, AbsentMeansNoRotationAndNoReplay) {
  auto config = load("");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_FALSE((*config)->rotation.has_value());
  EXPECT_TRUE((*config)->audit.replay_key_env.empty());
}

TEST(RotationKeysTest, CandidateWithDefaultsAndWithEveryKey) {
  auto plain = load("rotation: {candidate: next}\n");
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  ASSERT_TRUE((*plain)->rotation.has_value());
  EXPECT_EQ((*plain)->rotation->candidate, "next");
  EXPECT_TRUE((*plain)->rotation->tasks.empty());  // every task that may run locally
  EXPECT_DOUBLE_EQ((*plain)->rotation->sample, 1.0);

  auto full = load("rotation:\n  candidate: next\n  tasks: [triage]\n  sample: 0.25\n");
  ASSERT_TRUE(full.ok()) << full.status().to_string();
  EXPECT_EQ((*full)->rotation->tasks, std::vector<std::string>{"triage"});
  EXPECT_DOUBLE_EQ((*full)->rotation->sample, 0.25);
}

TEST(RotationKeysTest, MalformedRotationKeysNameTheirPath) {
  EXPECT_THAT(fail("rotation: {}\n"), HasSubstr("rotation.candidate: required key is missing"));
  EXPECT_THAT(fail("rotation: {candidate: nope}\n"),
              HasSubstr("rotation.candidate: unknown model \"nope\" (not under models:)"));
  EXPECT_THAT(fail("rotation: {candidate: small}\n"),
              HasSubstr("rotation.candidate: model \"small\" already answers in local tier \"local\""));
  EXPECT_THAT(fail("rotation: {candidate: [next]}\n"), HasSubstr("rotation.candidate: expected a string"));
  EXPECT_THAT(fail("rotation: {candidate: next, tier: 1}\n"), HasSubstr("rotation.tier: unknown key"));
  EXPECT_THAT(fail("rotation: {candidate: next, tasks: [nope]}\n"),
              HasSubstr("rotation.tasks[0]: unknown task \"nope\" (not under tasks:)"));
  EXPECT_THAT(fail("rotation: {candidate: next, tasks: [triage, review]}\n"),
              HasSubstr("rotation.tasks[1]: task \"review\" never runs locally"));
  EXPECT_THAT(fail("rotation: {candidate: next, tasks: []}\n"), HasSubstr("rotation.tasks: at least one task"));
  EXPECT_THAT(fail("rotation: {candidate: next, tasks: [triage, triage]}\n"),
              HasSubstr("rotation.tasks[1]: duplicate entry \"triage\""));
  EXPECT_THAT(fail("rotation: {candidate: next, tasks: triage}\n"), HasSubstr("rotation.tasks: expected a sequence"));
  EXPECT_THAT(fail("rotation: {candidate: next, sample: 1.5}\n"),
              HasSubstr("rotation.sample: expected a number in [0, 1], got 1.5"));
  EXPECT_THAT(fail("rotation: {candidate: next, sample: \"all\"}\n"), HasSubstr("rotation.sample: expected a number"));
  EXPECT_THAT(fail("rotation: next\n"), HasSubstr("rotation: expected a mapping"));
}

TEST(RotationKeysTest, ReplayKeyEnvIsAVariableName) {
  auto config = load("audit:\n  replay: {key_env: LADDER_REPLAY_KEY}\n");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ((*config)->audit.replay_key_env, "LADDER_REPLAY_KEY");

  EXPECT_THAT(fail("audit: {replay: {}}\n"), HasSubstr("audit.replay.key_env: required key is missing"));
  EXPECT_THAT(fail("audit: {replay: {key_env: \"\"}}\n"), HasSubstr("audit.replay.key_env"));
  EXPECT_THAT(fail("audit: {replay: {key_env: \"my key\"}}\n"),
              HasSubstr("audit.replay.key_env: expected an environment variable name"));
  EXPECT_THAT(fail("audit: {replay: {key_env: 1ABC}}\n"), HasSubstr("audit.replay.key_env"));
  EXPECT_THAT(fail("audit: {replay: {key_env: K, key: abc}}\n"), HasSubstr("audit.replay.key: unknown key"));
  EXPECT_THAT(fail("audit: {replay: true}\n"), HasSubstr("audit.replay: expected a mapping"));
}

TEST(RotationKeysTest, PolicyCheckExplainsRotationAndReplay) {
  auto config = load("rotation: {candidate: next, tasks: [triage], sample: 0.5}\naudit: {replay: {key_env: K}}\n");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  const std::string text = explain_policy(**config);
  EXPECT_THAT(text, HasSubstr("rotation: candidate next in shadow on triage, sample 0.5"));
  EXPECT_THAT(text, HasSubstr("raw inputs sealed for replay (key in $K)"));
  EXPECT_THAT(explain_policy(**load("")), ::testing::Not(HasSubstr("rotation:")));
}

}  // namespace
}  // namespace ladder
