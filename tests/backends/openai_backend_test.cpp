#include "backends/openai/openai_backend.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::FakeFrontierTest;
using testing::ScopedEnv;

const json kSchema =
    json::parse(R"({"type":"object","properties":{"label":{"enum":["build","test"]}},"required":["label"]})");

GenerationRequest chat_request() {
  GenerationRequest request;
  request.messages = {{"system", "You label CI failures."}, {"user", "unit test foo failed"}};
  request.json_schema = kSchema;
  request.max_tokens = 32;
  request.temperature = 0.0;
  request.want_logprobs = true;
  request.top_logprobs = 3;
  return request;
}

class OpenAiBackendTest : public FakeFrontierTest {
 protected:
  std::unique_ptr<Backend> make(ModelConfig model) {
    auto backend = make_openai_backend(model, sleeps_.fn());
    EXPECT_TRUE(backend.ok()) << backend.status().to_string();
    return backend.ok() ? std::move(backend.value()) : nullptr;
  }
  std::unique_ptr<Backend> make() { return make(model_config("openai")); }
};

TEST_F(OpenAiBackendTest, ChatHappyPathWithLogprobs) {
  answer(R"({"label":"test"})");
  auto backend = make();
  EXPECT_EQ(backend->kind(), "openai");
  EXPECT_EQ(backend->model(), "fake-model");
  auto result = backend->generate(chat_request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->text, R"({"label":"test"})");
  EXPECT_TRUE(result->has_logprobs);
  ASSERT_FALSE(result->tokens.empty());
  std::string joined;
  for (const auto& t : result->tokens) joined += t.token;
  EXPECT_EQ(joined, result->text);
  ASSERT_EQ(result->tokens[0].top.size(), 3u);
  EXPECT_EQ(result->tokens[0].top[0].first, result->tokens[0].token);
  EXPECT_GE(result->tokens[0].top[0].second, result->tokens[0].top[1].second);
  EXPECT_LT(result->tokens[0].logprob, 0.0);
  EXPECT_GT(result->prompt_tokens, 0);
  EXPECT_EQ(result->completion_tokens, static_cast<int>(result->tokens.size()));
  EXPECT_EQ(result->model, "fake-model");
  EXPECT_EQ(result->finish_reason, "stop");
  EXPECT_EQ(result->attempts, 1);
  EXPECT_GT(result->latency_ms, 0.0);
}

TEST_F(OpenAiBackendTest, ChatRequestShape) {
  ScopedEnv key("LADDER_TEST_OPENAI_KEY", "sk-test-123");
  auto model = model_config("openai");
  model.api_key_env = "LADDER_TEST_OPENAI_KEY";
  auto backend = make(model);
  auto result = backend->generate(chat_request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  auto recorded = requests();
  ASSERT_EQ(recorded.size(), 1u);
  const auto& req = recorded[0];
  EXPECT_EQ(req["method"], "POST");
  EXPECT_EQ(req["path"], "/v1/chat/completions");
  EXPECT_EQ(req["headers"]["authorization"], "Bearer sk-test-123");
  const auto& body = req["body"];
  EXPECT_EQ(body["model"], "fake-model");
  EXPECT_EQ(body["max_tokens"], 32);
  EXPECT_EQ(body["temperature"], 0.0);
  EXPECT_EQ(body["stream"], false);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][1]["content"], "unit test foo failed");
  EXPECT_EQ(body["response_format"]["type"], "json_schema");
  EXPECT_EQ(body["response_format"]["json_schema"]["schema"], kSchema);
  EXPECT_EQ(body["response_format"]["json_schema"]["strict"], true);
  EXPECT_TRUE(body["response_format"]["json_schema"]["name"].is_string());
  EXPECT_EQ(body["logprobs"], true);
  EXPECT_EQ(body["top_logprobs"], 3);
  EXPECT_FALSE(body.contains("grammar"));
}

TEST_F(OpenAiBackendTest, BaseUrlEndingInV1IsNotDoubled) {
  auto model = model_config("openai");
  model.base_url = base_url() + "/v1/";
  auto result = make(model)->generate(chat_request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(requests()[0]["path"], "/v1/chat/completions");
}

TEST_F(OpenAiBackendTest, GrammarReplacesResponseFormat) {
  auto request = chat_request();
  request.gbnf_grammar = R"(root ::= "{\"label\":\"build\"}")";
  auto result = make()->generate(request);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  const auto body = requests()[0]["body"];
  EXPECT_EQ(body["grammar"], *request.gbnf_grammar);
  EXPECT_FALSE(body.contains("response_format"));
}

TEST_F(OpenAiBackendTest, NoLogprobsWhenNotWanted) {
  auto request = chat_request();
  request.want_logprobs = false;
  request.json_schema.reset();
  auto result = make()->generate(request);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_FALSE(result->has_logprobs);
  EXPECT_TRUE(result->tokens.empty());
  const auto body = requests()[0]["body"];
  EXPECT_FALSE(body.contains("logprobs"));
  EXPECT_FALSE(body.contains("top_logprobs"));
  EXPECT_FALSE(body.contains("response_format"));
}

TEST_F(OpenAiBackendTest, RawPromptUsesCompletionsEndpoint) {
  answer(R"({"label":"build"})");
  GenerationRequest request;
  request.prompt = "Label this: cmake failed\n";
  request.json_schema = kSchema;
  request.top_logprobs = 2;
  auto result = make()->generate(request);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->text, R"({"label":"build"})");
  ASSERT_TRUE(result->has_logprobs);
  EXPECT_EQ(result->tokens[0].top.size(), 2u);
  EXPECT_GE(result->tokens[0].top[0].second, result->tokens[0].top[1].second);
  auto req = requests()[0];
  EXPECT_EQ(req["path"], "/v1/completions");
  EXPECT_EQ(req["body"]["prompt"], *request.prompt);
  EXPECT_EQ(req["body"]["json_schema"], kSchema);
  EXPECT_EQ(req["body"]["logprobs"], 2);
}

TEST_F(OpenAiBackendTest, EmptyRequestIsInvalidArgument) {
  auto result = make()->generate(GenerationRequest{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(requests().empty());
}

// The server's missing key is no fault of the client's request: 503 not_configured, not
// a 400 that SDKs would treat as final.
TEST_F(OpenAiBackendTest, MissingKeyVariableIsNotConfigured) {
  auto model = model_config("openai");
  model.api_key_env = "LADDER_TEST_OPENAI_KEY_UNSET";
  auto result = make(model)->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kNotConfigured);
  EXPECT_EQ(error_info(result.status().code()).http_status, 503);
  EXPECT_NE(result.status().message().find("LADDER_TEST_OPENAI_KEY_UNSET"), std::string::npos);
  EXPECT_TRUE(requests().empty());
}

TEST_F(OpenAiBackendTest, DownIsUnavailableAfterRetries) {
  auto model = model_config("openai");
  model.base_url = down_url();
  auto result = make(model)->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.status().message().find("openai"), std::string::npos);
  EXPECT_NE(result.status().message().find(model.base_url), std::string::npos);
  EXPECT_EQ(sleeps_.count(), 2u);  // max_retries
}

TEST_F(OpenAiBackendTest, SlowIsTimeout) {
  fail({{"mode", "slow"}, {"count", 2}, {"delay_ms", 1500}});
  auto model = model_config("openai");
  model.request_timeout_ms = 300;
  model.retry.max_retries = 1;
  auto result = make(model)->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kTimeout) << result.status().to_string();
  EXPECT_EQ(sleeps_.count(), 1u);
}

TEST_F(OpenAiBackendTest, RequestBudgetBoundsTheAttempt) {
  fail({{"mode", "slow"}, {"count", 1}, {"delay_ms", 1500}});
  auto request = chat_request();
  request.timeout = milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  auto result = make()->generate(request);
  EXPECT_EQ(result.status().code(), ErrorCode::kTimeout) << result.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1400));
}

TEST_F(OpenAiBackendTest, RateLimitHonoursRetryAfterThenSucceeds) {
  fail({{"mode", "429"}, {"count", 1}, {"retry_after", 1}});
  auto result = make()->generate(chat_request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->attempts, 2);
  ASSERT_EQ(sleeps_.delays.size(), 1u);
  EXPECT_EQ(sleeps_.delays[0], milliseconds(1000));
  EXPECT_EQ(requests().size(), 2u);
}

TEST_F(OpenAiBackendTest, RateLimitExhaustedIsRateLimited) {
  fail({{"mode", "429"}, {"count", 10}, {"retry_after", 0}});
  auto result = make()->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kRateLimited);
  EXPECT_NE(result.status().message().find("rate limited by fake"), std::string::npos);
  EXPECT_EQ(requests().size(), 3u);
}

TEST_F(OpenAiBackendTest, ServerErrorIsRetried) {
  fail({{"mode", "500"}, {"count", 1}});
  auto result = make()->generate(chat_request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->attempts, 2);
  ASSERT_EQ(sleeps_.delays.size(), 1u);
  EXPECT_GE(sleeps_.delays[0], milliseconds(8));
  EXPECT_LE(sleeps_.delays[0], milliseconds(12));
}

TEST_F(OpenAiBackendTest, ServerErrorExhaustedIsUpstreamError) {
  fail({{"mode", "500"}, {"count", 10}});
  auto result = make()->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUpstreamError);
  EXPECT_NE(result.status().message().find("internal error in fake"), std::string::npos);
  EXPECT_EQ(requests().size(), 3u);
}

TEST_F(OpenAiBackendTest, GarbageIsBadResponseNotRetried) {
  fail({{"mode", "garbage"}, {"count", 1}});
  auto result = make()->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kBadResponse);
  EXPECT_EQ(requests().size(), 1u);
  EXPECT_EQ(sleeps_.count(), 0u);
}

TEST_F(OpenAiBackendTest, WrongShapeIsBadResponse) {
  fail({{"mode", "badshape"}, {"count", 1}});
  auto result = make()->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kBadResponse);
  EXPECT_NE(result.status().message().find("/v1/chat/completions"), std::string::npos);
}

TEST_F(OpenAiBackendTest, CutIsConnectionResetAfterRetries) {
  fail({{"mode", "cut"}, {"count", 10}});
  auto result = make()->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kConnectionReset) << result.status().to_string();
  EXPECT_EQ(requests().size(), 3u);
}

TEST_F(OpenAiBackendTest, CutOnceThenSuccess) {
  fail({{"mode", "cut"}, {"count", 1}});
  auto result = make()->generate(chat_request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->attempts, 2);
}

TEST_F(OpenAiBackendTest, BadRequestIsRejectedNotRetried) {
  fail({{"mode", "400"}, {"count", 10}});
  auto result = make()->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUpstreamRejected);
  EXPECT_EQ(requests().size(), 1u);
  EXPECT_EQ(sleeps_.count(), 0u);
}

TEST_F(OpenAiBackendTest, UnauthorizedIsRejectedAndKeyNeverInMessage) {
  ScopedEnv key("LADDER_TEST_OPENAI_KEY", "sk-very-secret-999");
  auto model = model_config("openai");
  model.api_key_env = "LADDER_TEST_OPENAI_KEY";
  fail({{"mode", "401"}, {"count", 10}});
  auto result = make(model)->generate(chat_request());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUpstreamRejected);
  EXPECT_EQ(result.status().message().find("sk-very-secret-999"), std::string::npos);
  EXPECT_NE(result.status().message().find("401"), std::string::npos);
  EXPECT_EQ(requests().size(), 1u);
}

TEST_F(OpenAiBackendTest, HealthChecksModels) {
  auto backend = make();
  EXPECT_TRUE(backend->health().ok());
  EXPECT_EQ(requests()[0]["path"], "/v1/models");
  fail({{"mode", "503"}, {"count", 1}});
  EXPECT_EQ(backend->health().code(), ErrorCode::kUpstreamError);
  auto model = model_config("openai");
  model.base_url = down_url();
  EXPECT_EQ(make(model)->health().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace ladder
