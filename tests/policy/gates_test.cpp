#include "policy/gates.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ladder {
namespace {

using ::testing::HasSubstr;

class GatesTest : public ::testing::Test {
 protected:
  GatesTest() {
    task_.name = "classify_issue";
    task_.max_input_chars = 100;
    config_.capabilities.max_context_tokens = 1000;
    config_.capabilities.max_tool_chain = 3;
    config_.capabilities.privacy_forces_local = true;
  }
  GateDecision run(std::string_view input, RequestOptions options = {}) {
    return evaluate_gates(config_, &task_, input, options);
  }
  Config config_;
  TaskConfig task_;
};

TEST_F(GatesTest, PlainRequestGoesLocal) {
  auto d = run("short log");
  EXPECT_TRUE(d.go_local);
  EXPECT_FALSE(d.local_only);
  EXPECT_FALSE(d.reason.has_value());
}

TEST_F(GatesTest, UnknownTask) {
  auto d = evaluate_gates(config_, nullptr, "x", {});
  EXPECT_FALSE(d.go_local);
  EXPECT_EQ(d.reason, Reason::kUnknownTask);
  // Even with the kill switch on, an unknown task is reported as unknown first.
  config_.kill_switch = true;
  EXPECT_EQ(evaluate_gates(config_, nullptr, "x", {}).reason, Reason::kUnknownTask);
  // Privacy cannot keep an undefined task local: nothing could run it.
  RequestOptions privacy;
  privacy.privacy = true;
  auto p = evaluate_gates(config_, nullptr, "x", privacy);
  EXPECT_FALSE(p.go_local);
  EXPECT_TRUE(p.local_only);
  EXPECT_EQ(p.reason, Reason::kUnknownTask);
}

TEST_F(GatesTest, KillSwitchIsManualOverride) {
  config_.kill_switch = true;
  auto d = run("x");
  EXPECT_FALSE(d.go_local);
  EXPECT_EQ(d.reason, Reason::kManualOverride);
  EXPECT_THAT(d.detail, HasSubstr("kill switch"));
}

TEST_F(GatesTest, ForceFrontierIsManualOverride) {
  RequestOptions o;
  o.force_frontier = true;
  auto d = run("x", o);
  EXPECT_FALSE(d.go_local);
  EXPECT_EQ(d.reason, Reason::kManualOverride);
  EXPECT_THAT(d.detail, HasSubstr("caller"));
}

TEST_F(GatesTest, KillSwitchComesBeforeTaskPolicy) {
  config_.kill_switch = true;
  task_.local_allowed = false;
  EXPECT_EQ(run("x").reason, Reason::kManualOverride);
}

TEST_F(GatesTest, TaskNotAllowedLocal) {
  task_.local_allowed = false;
  auto d = run(std::string(500, 'x'));  // also too large: the task rule comes first
  EXPECT_FALSE(d.go_local);
  EXPECT_EQ(d.reason, Reason::kPolicyRequiresFrontier);
  EXPECT_THAT(d.detail, HasSubstr("classify_issue"));
}

TEST_F(GatesTest, InputOverMaxInputChars) {
  EXPECT_TRUE(run(std::string(100, 'x')).go_local);
  auto d = run(std::string(101, 'x'));
  EXPECT_FALSE(d.go_local);
  EXPECT_EQ(d.reason, Reason::kInputTooLarge);
  EXPECT_THAT(d.detail, HasSubstr("max_input_chars"));
}

TEST_F(GatesTest, MaxInputCharsCountsCharactersNotBytes) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "\xC3\xA9";  // 100 × é, 200 bytes
  EXPECT_TRUE(run(text).go_local);
  text += "\xC3\xA9";
  EXPECT_EQ(run(text).reason, Reason::kInputTooLarge);
}

TEST_F(GatesTest, InputOverContextTokens) {
  task_.max_input_chars = 100000;
  config_.capabilities.max_context_tokens = 10;
  EXPECT_TRUE(run(std::string(40, 'x')).go_local);  // exactly 10 tokens
  auto d = run(std::string(41, 'x'));               // 11 tokens
  EXPECT_FALSE(d.go_local);
  EXPECT_EQ(d.reason, Reason::kInputTooLarge);
  EXPECT_THAT(d.detail, HasSubstr("max_context_tokens"));
}

TEST_F(GatesTest, ToolChainTooLong) {
  RequestOptions o;
  o.tool_chain_length = 3;
  EXPECT_TRUE(run("x", o).go_local);
  o.tool_chain_length = 4;
  auto d = run("x", o);
  EXPECT_FALSE(d.go_local);
  EXPECT_EQ(d.reason, Reason::kPolicyRequiresFrontier);
  EXPECT_THAT(d.detail, HasSubstr("max_tool_chain"));
}

TEST_F(GatesTest, SizeRuleComesBeforeToolChain) {
  RequestOptions o;
  o.tool_chain_length = 99;
  EXPECT_EQ(run(std::string(101, 'x'), o).reason, Reason::kInputTooLarge);
}

TEST_F(GatesTest, PrivacySetsLocalOnlyAndKeepsLocalButReportsReason) {
  RequestOptions o;
  o.privacy = true;
  auto plain = run("x", o);
  EXPECT_TRUE(plain.go_local);
  EXPECT_TRUE(plain.local_only);
  EXPECT_FALSE(plain.reason.has_value());

  o.tool_chain_length = 10;
  auto chain = run("x", o);
  EXPECT_TRUE(chain.go_local);
  EXPECT_TRUE(chain.local_only);
  EXPECT_EQ(chain.reason, Reason::kPolicyRequiresFrontier);
  EXPECT_THAT(chain.detail, HasSubstr("privacy"));

  o.tool_chain_length = 0;
  o.force_frontier = true;
  auto forced = run("x", o);
  EXPECT_TRUE(forced.go_local);
  EXPECT_EQ(forced.reason, Reason::kManualOverride);

  o.force_frontier = false;
  task_.local_allowed = false;
  auto frontier_task = run("x", o);
  EXPECT_TRUE(frontier_task.go_local);
  EXPECT_EQ(frontier_task.reason, Reason::kPolicyRequiresFrontier);

  task_.local_allowed = true;
  auto big = run(std::string(200, 'x'), o);
  EXPECT_TRUE(big.go_local);
  EXPECT_EQ(big.reason, Reason::kInputTooLarge);
}

TEST_F(GatesTest, PrivacyWithoutPrivacyForcesLocalIsIgnored) {
  config_.capabilities.privacy_forces_local = false;
  RequestOptions o;
  o.privacy = true;
  o.force_frontier = true;
  auto d = run("x", o);
  EXPECT_FALSE(d.local_only);
  EXPECT_FALSE(d.go_local);
  EXPECT_EQ(d.reason, Reason::kManualOverride);
}

TEST(EstimateTokensTest, BytesOverFourRoundedUp) {
  EXPECT_EQ(estimate_tokens(""), 0);
  EXPECT_EQ(estimate_tokens("a"), 1);
  EXPECT_EQ(estimate_tokens("abcd"), 1);
  EXPECT_EQ(estimate_tokens("abcde"), 2);
  EXPECT_EQ(estimate_tokens(std::string(4000, 'x')), 1000);
  EXPECT_EQ(estimate_tokens("\xC3\xA9\xC3\xA9\xC3\xA9"), 2);  // 6 bytes
}

}  // namespace
}  // namespace ladder
