// The openai backend against the real llama-server on the real tiny model.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "backends/openai/openai_backend.h"
#include "test_support.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::ChildProcess;

const std::string kServer = LADDER_LLAMA_SERVER;
const std::string kModel = std::string(LADDER_SOURCE_DIR) + "/models/gemma-3-270m-q4_k_m.gguf";
const json kSchema =
    json::parse(R"({"type":"object","properties":{"label":{"enum":["build","test"]}},"required":["label"]})");

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

class LlamaServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!file_exists(kServer) || !file_exists(kModel)) return;
    port_ = testing::free_port();
    server_ = new ChildProcess();
    ASSERT_TRUE(server_->start({kServer, "--host", "127.0.0.1", "--port", std::to_string(port_), "-m", kModel, "-c",
                                "2048", "-t", "2", "--no-webui"}));
    http::Client client;
    http::Request health;
    health.url = base_url() + "/health";
    health.connect_timeout = milliseconds(500);
    health.total_timeout = milliseconds(2000);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    while (std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(server_->running()) << "llama-server exited during start-up";
      auto response = client.send(health);
      if (response.ok() && response->status == 200) {
        ready_ = true;
        return;
      }
      std::this_thread::sleep_for(milliseconds(250));
    }
    FAIL() << "llama-server did not answer /health with 200 within 180 s";
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!file_exists(kServer)) GTEST_SKIP() << "llama-server not built at " << kServer;
    if (!file_exists(kModel)) GTEST_SKIP() << "model file absent: " << kModel;
    ASSERT_TRUE(ready_) << "llama-server is not ready";
  }

  static std::string base_url() { return "http://127.0.0.1:" + std::to_string(port_); }

  std::unique_ptr<Backend> make() {
    ModelConfig m;
    m.name = "local_llama_server";
    m.backend = "openai";
    m.base_url = base_url() + "/v1";
    m.connect_timeout_ms = 2000;
    m.request_timeout_ms = 300000;  // 2 shared cores: a few tokens can take a while
    m.retry.max_retries = 0;
    auto backend = make_openai_backend(m);
    EXPECT_TRUE(backend.ok()) << backend.status().to_string();
    return std::move(backend.value());
  }

  static inline ChildProcess* server_ = nullptr;
  static inline int port_ = 0;
  static inline bool ready_ = false;
};

void expect_label_answer(const GenerationResult& result) {
  auto parsed = json::parse(result.text, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << result.text;
  ASSERT_TRUE(parsed.is_object()) << result.text;
  ASSERT_TRUE(parsed.contains("label")) << result.text;
  const auto label = parsed["label"];
  EXPECT_TRUE(label == "build" || label == "test") << result.text;
  EXPECT_TRUE(result.has_logprobs);
  ASSERT_FALSE(result.tokens.empty());
  bool any_top = false;
  for (const auto& token : result.tokens) {
    EXPECT_LE(token.logprob, 0.0);
    any_top = any_top || !token.top.empty();
  }
  EXPECT_TRUE(any_top);
  EXPECT_GT(result.prompt_tokens, 0);
  EXPECT_GT(result.completion_tokens, 0);
  EXPECT_FALSE(result.model.empty());
}

TEST_F(LlamaServerTest, ChatWithJsonSchemaAndLogprobs) {
  auto backend = make();
  EXPECT_TRUE(backend->health().ok());
  GenerationRequest request;
  request.messages = {{"user",
                       "Is this a build failure or a test failure? "
                       "'unit test parse_config_test failed: expected 3, got 4'. "
                       "Answer with JSON."}};
  request.json_schema = kSchema;
  request.max_tokens = 24;
  request.top_logprobs = 3;
  request.timeout = milliseconds(300000);
  auto result = backend->generate(request);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  expect_label_answer(result.value());
  EXPECT_EQ(result->attempts, 1);
}

TEST_F(LlamaServerTest, RawCompletionWithJsonSchemaAndLogprobs) {
  auto backend = make();
  GenerationRequest request;
  request.prompt = "Failure: cmake could not find Boost.\nLabel (build or test) as JSON: ";
  request.json_schema = kSchema;
  request.max_tokens = 24;
  request.top_logprobs = 2;
  request.timeout = milliseconds(300000);
  auto result = backend->generate(request);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  expect_label_answer(result.value());
}

// Real SSE from llama-server: the streamed deltas spell the same greedy answer as the
// non-streamed request, with logprobs and usage from the stream.
TEST_F(LlamaServerTest, StreamedChatMatchesNonStreamed) {
  auto backend = make();
  GenerationRequest request;
  request.messages = {{"user",
                       "Is this a build failure or a test failure? "
                       "'linker error: undefined reference to main'. Answer with JSON."}};
  request.json_schema = kSchema;
  request.max_tokens = 24;
  request.top_logprobs = 2;
  request.timeout = milliseconds(300000);
  auto whole = backend->generate(request);
  ASSERT_TRUE(whole.ok()) << whole.status().to_string();
  std::vector<std::string> deltas;
  auto streamed = backend->generate_stream(request, [&](std::string_view delta) {
    deltas.emplace_back(delta);
    return true;
  });
  ASSERT_TRUE(streamed.ok()) << streamed.status().to_string();
  std::string joined;
  for (const auto& d : deltas) joined += d;
  EXPECT_EQ(joined, streamed->text);
  EXPECT_EQ(streamed->text, whole->text);
  EXPECT_GE(deltas.size(), 2u);
  expect_label_answer(streamed.value());
  EXPECT_EQ(streamed->finish_reason, whole->finish_reason);
}

TEST_F(LlamaServerTest, StreamedCompletionStopsWhenTheConsumerDoes) {
  auto backend = make();
  GenerationRequest request;
  request.prompt = "Count: one, two, three, four,";
  request.max_tokens = 32;
  request.want_logprobs = false;
  request.timeout = milliseconds(300000);
  std::vector<std::string> deltas;
  auto streamed = backend->generate_stream(request, [&](std::string_view delta) {
    deltas.emplace_back(delta);
    return false;
  });
  ASSERT_TRUE(streamed.ok()) << streamed.status().to_string();
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(streamed->finish_reason, "cancelled");
  EXPECT_EQ(streamed->text, deltas[0]);
}

}  // namespace
}  // namespace ladder
