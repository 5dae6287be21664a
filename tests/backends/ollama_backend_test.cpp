#include "backends/ollama/ollama_backend.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "backends/http/http_client.h"
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

// What one generate_async() call gave: its result and the deltas in order.
struct AsyncOutcome {
  Result<GenerationResult> result;
  std::vector<std::string> deltas;
};

class OllamaBackendTest : public FakeFrontierTest {
 protected:
  // generate_async() on the client's event loop (streamed when `stream`), waited for.
  AsyncOutcome run_async(Backend& backend, const GenerationRequest& r, bool stream) {
    auto deltas = std::make_shared<std::vector<std::string>>();  // the loop writes, until done
    DeltaFn on_delta;
    if (stream)
      on_delta = [deltas](std::string_view d) {
        deltas->emplace_back(d);
        return true;
      };
    auto done = std::make_shared<std::promise<Result<GenerationResult>>>();
    const bool started = backend.generate_async(
        r, client_, on_delta, [done](Result<GenerationResult> result) { done->set_value(std::move(result)); });
    if (!started) return {make_error(ErrorCode::kNotImplemented, "no asynchronous path"), {}};
    auto future = done->get_future();
    if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
      return {make_error(ErrorCode::kTimeout, "generate_async never finished"), {}};
    return {future.get(), *deltas};
  }

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

  http::Client client_;  // its own event loop
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

// generate_async() (ladder serve escalates and passes through on its event loop) reads
// the answer as generate() and generate_stream() do: the same body but for "stream", the
// same text, logprobs and usage.
TEST_F(OllamaBackendTest, GenerateAsyncPlainAndStreamed) {
  answer(R"({"label":"build"})");
  auto backend = make();
  ASSERT_TRUE(backend->generates_async());
  auto plain = run_async(*backend, request(), /*stream=*/false);
  ASSERT_TRUE(plain.result.ok()) << plain.result.status().to_string();
  EXPECT_EQ(plain.result->text, R"({"label":"build"})");
  ASSERT_TRUE(plain.result->has_logprobs);
  EXPECT_EQ(plain.result->tokens[0].top.size(), 4u);
  EXPECT_GT(plain.result->prompt_tokens, 0);
  EXPECT_EQ(plain.result->completion_tokens, static_cast<int>(plain.result->tokens.size()));
  EXPECT_EQ(plain.result->model, "gemma3:270m");
  EXPECT_EQ(plain.result->finish_reason, "stop");
  EXPECT_EQ(plain.result->attempts, 1);
  EXPECT_TRUE(plain.deltas.empty());

  answer("the build failed at the link step");
  auto streamed = run_async(*backend, request(), /*stream=*/true);
  ASSERT_TRUE(streamed.result.ok()) << streamed.result.status().to_string();
  EXPECT_EQ(streamed.result->text, "the build failed at the link step");
  ASSERT_GT(streamed.deltas.size(), 1u) << "the answer comes in pieces";
  std::string joined;
  for (const auto& d : streamed.deltas) joined += d;
  EXPECT_EQ(joined, streamed.result->text);
  EXPECT_EQ(streamed.result->finish_reason, "stop");
  EXPECT_GT(streamed.result->prompt_tokens, 0);
  EXPECT_GT(streamed.result->completion_tokens, 0);
  EXPECT_TRUE(streamed.result->has_logprobs);

  auto sent = requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0]["path"], "/api/chat");
  EXPECT_EQ(sent[0]["body"]["stream"], false);
  EXPECT_EQ(sent[0]["body"]["keep_alive"], "15m");
  EXPECT_EQ(sent[0]["body"]["format"], kSchema);
  EXPECT_EQ(sent[1]["body"]["stream"], true);
  json same = sent[1]["body"];
  same["stream"] = false;
  EXPECT_EQ(same, sent[0]["body"]) << "the blocking and async forms send one body";
}

TEST_F(OllamaBackendTest, GenerateAsyncRawPromptStreamsFromGenerate) {
  answer("continued text here");
  GenerationRequest r;
  r.prompt = "<start_of_turn>user\nhi<end_of_turn>\n";
  r.want_logprobs = false;
  auto out = run_async(*make(), r, /*stream=*/true);
  ASSERT_TRUE(out.result.ok()) << out.result.status().to_string();
  EXPECT_EQ(out.result->text, "continued text here");
  EXPECT_FALSE(out.result->has_logprobs);
  auto req = requests()[0];
  EXPECT_EQ(req["path"], "/api/generate");
  EXPECT_EQ(req["body"]["raw"], true);
  EXPECT_EQ(req["body"]["stream"], true);
}

// A stream cut before its done line is kConnectionReset, an {"error": ...} line is the
// upstream's error; neither is retried once a delta went out.
TEST_F(OllamaBackendTest, GenerateAsyncStreamFaults) {
  answer("one two three four five");
  auto backend = make();
  fail({{"mode", "stream_cut"}, {"count", 1}, {"after_chunks", 2}});
  auto cut = run_async(*backend, request(), /*stream=*/true);
  EXPECT_EQ(cut.result.status().code(), ErrorCode::kConnectionReset) << cut.result.status().to_string();
  EXPECT_FALSE(cut.deltas.empty());

  fail({{"mode", "stream_error"}, {"count", 1}, {"after_chunks", 1}});
  auto in_band = run_async(*backend, request(), /*stream=*/true);
  EXPECT_EQ(in_band.result.status().code(), ErrorCode::kUpstreamError) << in_band.result.status().to_string();
  EXPECT_NE(in_band.result.status().message().find("stream failed in fake"), std::string::npos)
      << in_band.result.status().to_string();
  EXPECT_EQ(in_band.deltas.size(), 1u);
  EXPECT_EQ(requests().size(), 2u) << "no retry after a delta went out";
}

// Failures map as for generate(); a retry waits on the loop's timer, not the sleep.
TEST_F(OllamaBackendTest, GenerateAsyncFailuresAndRetriesOnATimer) {
  auto backend = make();
  fail({{"mode", "garbage"}, {"count", 1}});
  EXPECT_EQ(run_async(*backend, request(), false).result.status().code(), ErrorCode::kBadResponse);
  fail({{"mode", "badshape"}, {"count", 1}});
  EXPECT_EQ(run_async(*backend, request(), false).result.status().code(), ErrorCode::kBadResponse);
  fail({{"mode", "400"}, {"count", 1}});
  EXPECT_EQ(run_async(*backend, request(), true).result.status().code(), ErrorCode::kUpstreamRejected);

  const std::size_t before = requests().size();
  fail({{"mode", "429"}, {"count", 1}});
  auto retried = run_async(*backend, request(), /*stream=*/true);
  ASSERT_TRUE(retried.result.ok()) << retried.result.status().to_string();
  EXPECT_EQ(retried.result->attempts, 2);
  EXPECT_EQ(requests().size(), before + 2);
  EXPECT_EQ(sleeps_.count(), 0u) << "the wait between tries is a timer on the loop";

  auto model = model_config("ollama", "gemma3:270m");
  model.base_url = down_url();
  EXPECT_EQ(run_async(*make(model), request(), false).result.status().code(), ErrorCode::kUnavailable);
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
