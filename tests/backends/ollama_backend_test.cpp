#include "backends/ollama/ollama_backend.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace ladder {
namespace {

using nlohmann::json;
using testing::FakeFrontierTest;

const json kSchema =
    json::parse(R"({"type":"object","properties":{"label":{"enum":["build","test"]}},"required":["label"]})");

GenerationRequest request() {
  GenerationRequest r;
  r.messages = {{"system", "Label it."}, {"user", "linker error"}};
  r.json_schema = kSchema;
  r.max_tokens = 48;
  r.temperature = 0.1;
  r.top_logprobs = 4;
  return r;
}

class OllamaBackendTest : public FakeFrontierTest {
 protected:
  std::unique_ptr<Backend> make(ModelConfig model) {
    auto backend = make_ollama_backend(model, sleeps_.fn());
    EXPECT_TRUE(backend.ok()) << backend.status().to_string();
    return backend.ok() ? std::move(backend.value()) : nullptr;
  }
  std::unique_ptr<Backend> make() {
    auto model = model_config("ollama", "gemma3:270m");
    model.keep_alive = "15m";
    return make(model);
  }
};

TEST_F(OllamaBackendTest, ChatHappyPathWithLogprobs) {
  answer(R"({"label":"build"})");
  auto backend = make();
  EXPECT_EQ(backend->kind(), "ollama");
  auto result = backend->generate(request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->text, R"({"label":"build"})");
  ASSERT_TRUE(result->has_logprobs);
  EXPECT_EQ(result->tokens[0].top.size(), 4u);
  EXPECT_GT(result->prompt_tokens, 0);
  EXPECT_EQ(result->completion_tokens, static_cast<int>(result->tokens.size()));
  EXPECT_EQ(result->model, "gemma3:270m");
  EXPECT_EQ(result->finish_reason, "stop");
}

TEST_F(OllamaBackendTest, ChatRequestShape) {
  ASSERT_TRUE(make()->generate(request()).ok());
  auto req = requests()[0];
  EXPECT_EQ(req["path"], "/api/chat");
  const auto& body = req["body"];
  EXPECT_EQ(body["model"], "gemma3:270m");
  EXPECT_EQ(body["stream"], false);
  EXPECT_EQ(body["keep_alive"], "15m");
  EXPECT_EQ(body["format"], kSchema);
  EXPECT_EQ(body["options"]["temperature"], 0.1);
  EXPECT_EQ(body["options"]["num_predict"], 48);
  EXPECT_EQ(body["logprobs"], true);
  EXPECT_EQ(body["top_logprobs"], 4);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][1]["content"], "linker error");
}

TEST_F(OllamaBackendTest, RawPromptUsesGenerate) {
  GenerationRequest r;
  r.prompt = "<start_of_turn>user\nhi<end_of_turn>\n";
  r.want_logprobs = false;
  auto result = make()->generate(r);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_FALSE(result->has_logprobs);
  auto req = requests()[0];
  EXPECT_EQ(req["path"], "/api/generate");
  EXPECT_EQ(req["body"]["prompt"], *r.prompt);
  EXPECT_EQ(req["body"]["raw"], true);
  EXPECT_FALSE(req["body"].contains("format"));
  EXPECT_FALSE(req["body"].contains("logprobs"));
}

TEST_F(OllamaBackendTest, FailureClasses) {
  fail({{"mode", "500"}, {"count", 10}});
  auto server = make()->generate(request());
  EXPECT_EQ(server.status().code(), ErrorCode::kUpstreamError);
  EXPECT_NE(server.status().message().find("internal error in fake"), std::string::npos);
  EXPECT_EQ(requests().size(), 3u);

  fail({{"mode", "400"}, {"count", 1}});
  EXPECT_EQ(make()->generate(request()).status().code(), ErrorCode::kUpstreamRejected);
  fail({{"mode", "garbage"}, {"count", 1}});
  EXPECT_EQ(make()->generate(request()).status().code(), ErrorCode::kBadResponse);
  fail({{"mode", "badshape"}, {"count", 1}});
  EXPECT_EQ(make()->generate(request()).status().code(), ErrorCode::kBadResponse);
  fail({{"mode", "cut"}, {"count", 3}});
  EXPECT_EQ(make()->generate(request()).status().code(), ErrorCode::kConnectionReset);
  fail({{"mode", "429"}, {"count", 1}});
  auto retried = make()->generate(request());
  ASSERT_TRUE(retried.ok()) << retried.status().to_string();
  EXPECT_EQ(retried->attempts, 2);

  auto model = model_config("ollama", "gemma3:270m");
  model.base_url = down_url();
  EXPECT_EQ(make(model)->generate(request()).status().code(), ErrorCode::kUnavailable);
}

TEST_F(OllamaBackendTest, HealthUsesTags) {
  EXPECT_TRUE(make()->health().ok());
  EXPECT_EQ(requests()[0]["path"], "/api/tags");
  fail({{"mode", "garbage"}, {"count", 1}});
  EXPECT_EQ(make()->health().code(), ErrorCode::kBadResponse);
}

TEST(OllamaFactory, RequiresModel) {
  ModelConfig m;
  m.name = "local";
  m.backend = "ollama";
  m.base_url = "http://127.0.0.1:11434";
  auto backend = make_ollama_backend(m);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(backend.status().message().find("models.local.model"), std::string::npos);
}

}  // namespace
}  // namespace ladder
