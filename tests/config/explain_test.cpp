#include "config/explain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"

namespace ladder {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ExplainTest, ExamplePolicySummary) {
  auto result = load_policy_file(std::string(LADDER_SOURCE_DIR) + "/examples/maintainer/policy.yaml");
  ASSERT_TRUE(result.ok()) << result.status().message();
  const Config& c = **result;
  std::string text = explain_policy(c);
  EXPECT_THAT(text, HasSubstr("tiers (3):"));
  EXPECT_THAT(text, HasSubstr("0 local [local]: gemma-local (embedded "));
  EXPECT_THAT(text, HasSubstr("1 local-qwen [local]: qwen-local (embedded "));  // local: true
  EXPECT_THAT(text,
              HasSubstr("2 frontier [frontier]: frontier (anthropic claude-sonnet-4-5 at http://127.0.0.1:8089)"));
  EXPECT_THAT(text, HasSubstr("tasks (5):"));
  EXPECT_THAT(text, HasSubstr("classify_issue [classify, local first]"));
  EXPECT_THAT(text, HasSubstr("propose_code_change [generate, frontier only]"));
  EXPECT_THAT(text, HasSubstr("security_review [generate, frontier only]"));
  EXPECT_THAT(text, HasSubstr("route_macro [route_macro, local first]"));
  EXPECT_THAT(text, HasSubstr("escalate labels: security, access, unknown"));
  EXPECT_THAT(text, HasSubstr("evidence (a local label needs its own and no other's): build "));
  EXPECT_THAT(text, HasSubstr("hard stops: security " + std::to_string(c.hard_stops.security.size()) +
                              " rules, access " + std::to_string(c.hard_stops.access.size()) + " rules, production " +
                              std::to_string(c.hard_stops.production.size()) + " rules"));
  EXPECT_THAT(text, HasSubstr("privacy forces local yes, max context tokens 3000, max tool chain 8"));
  EXPECT_THAT(text, HasSubstr("kill switch: off"));
  EXPECT_THAT(text, HasSubstr("macros (8):"));
  EXPECT_THAT(text, HasSubstr("stale_sweep_v1: find issues"));
  EXPECT_THAT(text, HasSubstr("irreversible when {\"action\":\"close\"}"));
  EXPECT_THAT(text, HasSubstr("audit: no JSONL file"));
}

TEST(ExplainTest, FlagsAndMiddleTiersShow) {
  Config c;
  c.source_path = "p.yaml";
  ModelConfig a;
  a.name = "a";
  a.backend = "ollama";
  a.model = "qwen";
  a.base_url = "http://h:1";
  c.models["a"] = a;
  c.tiers = {{"t0", {"a"}}, {"t1", {"a"}}, {"t2", {"a"}}};
  c.kill_switch = true;
  c.shadow = true;
  c.audit.jsonl_path = "/tmp/a.jsonl";
  std::string text = explain_policy(c);
  EXPECT_THAT(text, HasSubstr("1 t1 [middle]: a (ollama qwen at http://h:1)"));
  EXPECT_THAT(text, HasSubstr("kill switch: ON"));
  EXPECT_THAT(text, HasSubstr("shadow: on"));
  EXPECT_THAT(text, HasSubstr("audit: /tmp/a.jsonl"));
  EXPECT_THAT(text, HasSubstr("tasks (0):"));
  EXPECT_THAT(text, Not(HasSubstr("kill switch: off")));
}

}  // namespace
}  // namespace ladder
