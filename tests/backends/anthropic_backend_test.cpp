#include "backends/anthropic/anthropic_backend.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::FakeFrontierTest;
using testing::ScopedEnv;

constexpr const char* kKeyEnv = "LADDER_TEST_ANTHROPIC_KEY";
constexpr const char* kKey = "sk-ant-secret-42";

GenerationRequest request() {
  GenerationRequest r;
  r.messages = {
      {"system", "You label CI failures."}, {"system", "Answer in JSON."}, {"user", "cmake could not find Boost"}};
  r.json_schema = json::parse(R"({"type":"object"})");
  r.max_tokens = 64;
  r.temperature = 0.0;
  return r;
}

class AnthropicBackendTest : public FakeFrontierTest {
 protected:
  std::unique_ptr<Backend> make(ModelConfig model) {
    auto backend = make_anthropic_backend(model, sleeps_.fn());
    EXPECT_TRUE(backend.ok()) << backend.status().to_string();
    return backend.ok() ? std::move(backend.value()) : nullptr;
  }
  std::unique_ptr<Backend> make() {
    auto model = model_config("anthropic", "claude-test");
    model.api_key_env = kKeyEnv;
    return make(model);
  }
  ScopedEnv key_{kKeyEnv, kKey};
};

TEST_F(AnthropicBackendTest, HappyPath) {
  answer(R"({"label":"build"})");
  auto backend = make();
  EXPECT_EQ(backend->kind(), "anthropic");
  EXPECT_EQ(backend->model(), "claude-test");
  auto result = backend->generate(request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->text, R"({"label":"build"})");
  EXPECT_FALSE(result->has_logprobs);
  EXPECT_TRUE(result->tokens.empty());
  EXPECT_GT(result->prompt_tokens, 0);
  EXPECT_GT(result->completion_tokens, 0);
  EXPECT_EQ(result->model, "claude-test");
  EXPECT_EQ(result->finish_reason, "end_turn");
  EXPECT_EQ(result->attempts, 1);
}

TEST_F(AnthropicBackendTest, RequestShape) {
  auto result = make()->generate(request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  auto recorded = requests();
  ASSERT_EQ(recorded.size(), 1u);
  const auto& req = recorded[0];
  EXPECT_EQ(req["path"], "/v1/messages");
  EXPECT_EQ(req["headers"]["x-api-key"], kKey);
  EXPECT_EQ(req["headers"]["anthropic-version"], "2023-06-01");
  EXPECT_FALSE(req["headers"].contains("authorization"));
  const auto& body = req["body"];
  EXPECT_EQ(body["model"], "claude-test");
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["temperature"], 0.0);
  EXPECT_EQ(body["system"], "You label CI failures.\n\nAnswer in JSON.");
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_EQ(body["messages"][0]["content"], "cmake could not find Boost");
  EXPECT_FALSE(body.contains("logprobs"));
}

TEST_F(AnthropicBackendTest, PromptOnlyBecomesUserMessage) {
  GenerationRequest r;
  r.prompt = "just a prompt";
  auto result = make()->generate(r);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  const auto body = requests()[0]["body"];
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["content"], "just a prompt");
  EXPECT_FALSE(body.contains("system"));
}

TEST_F(AnthropicBackendTest, OnlySystemMessagesIsInvalidArgument) {
  GenerationRequest r;
  r.messages = {{"system", "alone"}};
  auto result = make()->generate(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(requests().empty());
}

TEST_F(AnthropicBackendTest, ErrorShapeCarriedIntoMessageWithoutKey) {
  fail({{"mode", "401"}, {"count", 1}});
  auto result = make()->generate(request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUpstreamRejected);
  const auto& message = result.status().message();
  EXPECT_NE(message.find("anthropic"), std::string::npos);
  EXPECT_NE(message.find("/v1/messages"), std::string::npos);
  EXPECT_NE(message.find("authentication_error: invalid x-api-key"), std::string::npos) << message;
  EXPECT_EQ(message.find(kKey), std::string::npos);
  EXPECT_EQ(requests().size(), 1u);
  EXPECT_EQ(sleeps_.count(), 0u);
}

TEST_F(AnthropicBackendTest, RateLimitRetriedThenSucceeds) {
  fail({{"mode", "429"}, {"count", 2}, {"retry_after", 2}});
  auto result = make()->generate(request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->attempts, 3);
  EXPECT_EQ(sleeps_.delays, (std::vector<milliseconds>{milliseconds(2000), milliseconds(2000)}));
}

TEST_F(AnthropicBackendTest, RetryAfterBeyondMaxBackoffIsNotWaitedFor) {
  fail({{"mode", "429"}, {"count", 1}, {"retry_after", 120}});
  auto result = make()->generate(request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kRateLimited);
  // The upstream's hint travels with the error, typed, for the server to pass on.
  EXPECT_EQ(result.status().retry_after(), std::optional<milliseconds>(milliseconds(120000)));
  EXPECT_EQ(sleeps_.count(), 0u);
  EXPECT_EQ(requests().size(), 1u);
}

TEST_F(AnthropicBackendTest, ServerErrorExhausted) {
  fail({{"mode", "500"}, {"count", 10}});
  auto result = make()->generate(request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUpstreamError);
  EXPECT_NE(result.status().message().find("api_error: internal error in fake"), std::string::npos);
  EXPECT_EQ(requests().size(), 3u);
}

TEST_F(AnthropicBackendTest, GarbageAndWrongShapeAreBadResponse) {
  fail({{"mode", "garbage"}, {"count", 1}});
  EXPECT_EQ(make()->generate(request()).status().code(), ErrorCode::kBadResponse);
  fail({{"mode", "badshape"}, {"count", 1}});
  EXPECT_EQ(make()->generate(request()).status().code(), ErrorCode::kBadResponse);
  EXPECT_EQ(requests().size(), 2u);
}

TEST_F(AnthropicBackendTest, CutIsConnectionReset) {
  fail({{"mode", "cut"}, {"count", 10}});
  auto result = make()->generate(request());
  EXPECT_EQ(result.status().code(), ErrorCode::kConnectionReset) << result.status().to_string();
}

TEST_F(AnthropicBackendTest, SlowIsTimeoutAndDownIsUnavailable) {
  fail({{"mode", "slow"}, {"count", 10}, {"delay_ms", 1500}});
  auto model = model_config("anthropic", "claude-test");
  model.request_timeout_ms = 250;
  model.retry.max_retries = 0;
  EXPECT_EQ(make(model)->generate(request()).status().code(), ErrorCode::kTimeout);
  model.base_url = down_url();
  auto down = make(model)->generate(request());
  EXPECT_EQ(down.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(down.status().message().find(model.base_url), std::string::npos);
}

TEST_F(AnthropicBackendTest, HealthSendsHeaders) {
  EXPECT_TRUE(make()->health().ok());
  auto req = requests()[0];
  EXPECT_EQ(req["path"], "/v1/models");
  EXPECT_EQ(req["headers"]["x-api-key"], kKey);
}

}  // namespace
}  // namespace ladder
