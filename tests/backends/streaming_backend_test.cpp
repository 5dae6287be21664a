// generate_stream() of every network backend against the fake frontier's streamed
// answers (OpenAI SSE, Anthropic SSE events, Ollama NDJSON) and its stream faults.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "backends/anthropic/anthropic_backend.h"
#include "backends/http/json_endpoint.h"
#include "backends/ollama/ollama_backend.h"
#include "backends/openai/openai_backend.h"
#include "test_support.h"

namespace ladder {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::FakeFrontierTest;

const std::string kAnswer = "The quick brown fox jumps over the lazy dog";

struct StreamCase {
  const char* name;
  const char* backend;  // "openai", "anthropic", "ollama"
  bool raw;             // request.prompt instead of messages
  const char* path;     // the endpoint the fake should see
  bool logprobs;        // the API carries logprobs in its stream
};

const StreamCase kCases[] = {
    {"OpenAiChat", "openai", false, "/v1/chat/completions", true},
    {"OpenAiCompletion", "openai", true, "/v1/completions", true},
    {"Anthropic", "anthropic", false, "/v1/messages", false},
    {"OllamaChat", "ollama", false, "/api/chat", true},
    {"OllamaGenerate", "ollama", true, "/api/generate", true},
};

void PrintTo(const StreamCase& c, std::ostream* os) { *os << c.name; }

// Records every delta; stops after `stop_after` of them when set.
struct DeltaLog {
  std::vector<std::string> deltas;
  int stop_after = 0;
  DeltaFn fn() {
    return [this](std::string_view delta) {
      deltas.emplace_back(delta);
      return stop_after == 0 || static_cast<int>(deltas.size()) < stop_after;
    };
  }
  std::string joined() const {
    std::string all;
    for (const auto& d : deltas) all += d;
    return all;
  }
};

class StreamingBackendTest : public FakeFrontierTest, public ::testing::WithParamInterface<StreamCase> {
 protected:
  void SetUp() override {
    FakeFrontierTest::SetUp();
    answer(kAnswer);
  }

  std::unique_ptr<Backend> make(ModelConfig model) {
    Result<std::unique_ptr<Backend>> backend = make_error(ErrorCode::kInternal, "unknown backend");
    const std::string kind = GetParam().backend;
    if (kind == "openai") backend = make_openai_backend(model, sleeps_.fn());
    if (kind == "anthropic") backend = make_anthropic_backend(model, sleeps_.fn());
    if (kind == "ollama") backend = make_ollama_backend(model, sleeps_.fn());
    EXPECT_TRUE(backend.ok()) << backend.status().to_string();
    return backend.ok() ? std::move(backend.value()) : nullptr;
  }
  std::unique_ptr<Backend> make() { return make(model_config(GetParam().backend)); }

  GenerationRequest request() const {
    GenerationRequest r;
    if (GetParam().raw) {
      r.prompt = "Say the pangram.\n";
    } else {
      r.messages = {{"system", "You are terse."}, {"user", "Say the pangram."}};
    }
    r.max_tokens = 64;
    r.want_logprobs = GetParam().logprobs;
    r.top_logprobs = 2;
    return r;
  }

  DeltaLog log_;
};

TEST_P(StreamingBackendTest, AnswerArrivesInSeveralDeltas) {
  auto backend = make();
  auto result = backend->generate_stream(request(), log_.fn());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_GE(log_.deltas.size(), 5u);
  EXPECT_EQ(log_.joined(), kAnswer);
  EXPECT_EQ(result->text, kAnswer);
  for (const auto& d : log_.deltas) EXPECT_FALSE(d.empty());
  EXPECT_TRUE(result->finish_reason == "stop" || result->finish_reason == "end_turn") << result->finish_reason;
  EXPECT_GT(result->prompt_tokens, 0);
  EXPECT_GT(result->completion_tokens, 0);
  EXPECT_EQ(result->attempts, 1);
  EXPECT_GT(result->latency_ms, 0.0);
  EXPECT_FALSE(result->model.empty());
  if (GetParam().logprobs) {
    EXPECT_TRUE(result->has_logprobs);
    std::string tokens;
    for (const auto& t : result->tokens) tokens += t.token;
    EXPECT_EQ(tokens, kAnswer);
    ASSERT_FALSE(result->tokens.empty());
    EXPECT_EQ(result->tokens[0].top.size(), 2u);
  } else {
    EXPECT_FALSE(result->has_logprobs);
  }

  auto recorded = requests();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0]["path"], GetParam().path);
  EXPECT_EQ(recorded[0]["body"]["stream"], true);
  if (std::string(GetParam().backend) == "openai") {
    EXPECT_EQ(recorded[0]["body"]["stream_options"]["include_usage"], true);
  }
}

TEST_P(StreamingBackendTest, NonStreamedGenerateIsUnchanged) {
  auto result = make()->generate(request());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->text, kAnswer);
  EXPECT_FALSE(requests()[0]["body"].value("stream", false));
}

TEST_P(StreamingBackendTest, ConsumerStopEndsTheStreamEarly) {
  log_.stop_after = 1;
  auto result = make()->generate_stream(request(), log_.fn());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  ASSERT_EQ(log_.deltas.size(), 1u);
  EXPECT_EQ(result->finish_reason, "cancelled");
  EXPECT_EQ(result->text, log_.deltas[0]);
  EXPECT_LT(result->text.size(), kAnswer.size());
  EXPECT_EQ(requests().size(), 1u);
}

TEST_P(StreamingBackendTest, StreamCutAfterDeltasIsConnectionResetNotRetried) {
  fail({{"mode", "stream_cut"}, {"after_chunks", 2}, {"count", 5}});
  auto result = make()->generate_stream(request(), log_.fn());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kConnectionReset) << result.status().to_string();
  EXPECT_EQ(log_.deltas.size(), 2u);
  EXPECT_EQ(log_.joined(), "The quick ");
  EXPECT_EQ(requests().size(), 1u);
  EXPECT_EQ(sleeps_.count(), 0u);
}

TEST_P(StreamingBackendTest, StreamCutBeforeFirstDeltaIsRetried) {
  fail({{"mode", "stream_cut"}, {"after_chunks", 0}, {"count", 1}});
  auto result = make()->generate_stream(request(), log_.fn());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->attempts, 2);
  EXPECT_EQ(log_.joined(), kAnswer);
  EXPECT_EQ(requests().size(), 2u);
}

TEST_P(StreamingBackendTest, StallPastInterTokenTimeoutIsTimeout) {
  fail({{"mode", "stream_stall"}, {"after_chunks", 2}, {"delay_ms", 2000}});
  auto r = request();
  r.inter_token_timeout = milliseconds(250);
  const auto start = std::chrono::steady_clock::now();
  auto result = make()->generate_stream(r, log_.fn());
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kTimeout) << result.status().to_string();
  EXPECT_EQ(log_.deltas.size(), 2u);
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_EQ(requests().size(), 1u);
}

TEST_P(StreamingBackendTest, StallWithinInterTokenTimeoutIsFine) {
  fail({{"mode", "stream_stall"}, {"after_chunks", 2}, {"delay_ms", 150}});
  auto r = request();
  r.inter_token_timeout = milliseconds(2000);
  auto result = make()->generate_stream(r, log_.fn());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(log_.joined(), kAnswer);
}

TEST_P(StreamingBackendTest, InBandErrorIsUpstreamErrorNotRetried) {
  fail({{"mode", "stream_error"}, {"after_chunks", 3}, {"count", 5}});
  auto result = make()->generate_stream(request(), log_.fn());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUpstreamError) << result.status().to_string();
  EXPECT_NE(result.status().message().find("stream failed in fake"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find(GetParam().backend), std::string::npos);
  EXPECT_EQ(log_.deltas.size(), 3u);
  EXPECT_EQ(requests().size(), 1u);
}

TEST_P(StreamingBackendTest, ServerErrorBeforeFirstByteIsRetried) {
  fail({{"mode", "500"}, {"count", 1}});
  auto result = make()->generate_stream(request(), log_.fn());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->attempts, 2);
  EXPECT_EQ(sleeps_.count(), 1u);
  EXPECT_EQ(log_.joined(), kAnswer);
}

TEST_P(StreamingBackendTest, ServerErrorExhaustedHasNoDelta) {
  fail({{"mode", "500"}, {"count", 10}});
  auto result = make()->generate_stream(request(), log_.fn());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUpstreamError);
  EXPECT_NE(result.status().message().find("internal error in fake"), std::string::npos);
  EXPECT_TRUE(log_.deltas.empty());
  EXPECT_EQ(requests().size(), 3u);  // max_retries 2
}

TEST_P(StreamingBackendTest, RateLimitBeforeFirstByteHasNoDelta) {
  fail({{"mode", "429"}, {"count", 10}, {"retry_after", 0}});
  auto result = make()->generate_stream(request(), log_.fn());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kRateLimited);
  EXPECT_TRUE(log_.deltas.empty());
  EXPECT_EQ(requests().size(), 3u);
}

TEST_P(StreamingBackendTest, RateLimitHonoursRetryAfterThenStreams) {
  fail({{"mode", "429"}, {"count", 1}, {"retry_after", 1}});
  auto result = make()->generate_stream(request(), log_.fn());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  ASSERT_EQ(sleeps_.count(), 1u);
  EXPECT_EQ(sleeps_.delays[0], milliseconds(1000));
  EXPECT_EQ(log_.joined(), kAnswer);
}

TEST_P(StreamingBackendTest, GarbageIsBadResponseWithNoDelta) {
  fail({{"mode", "garbage"}, {"count", 1}});
  auto result = make()->generate_stream(request(), log_.fn());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kBadResponse) << result.status().to_string();
  EXPECT_TRUE(log_.deltas.empty());
  EXPECT_EQ(requests().size(), 1u);
}

TEST_P(StreamingBackendTest, ConnectionRefusedIsUnavailableWithNoDelta) {
  auto model = model_config(GetParam().backend);
  model.base_url = down_url();
  auto result = make(model)->generate_stream(request(), log_.fn());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.status().message().find(GetParam().backend), std::string::npos);
  EXPECT_TRUE(log_.deltas.empty());
  EXPECT_EQ(sleeps_.count(), 2u);  // max_retries
}

TEST_P(StreamingBackendTest, SlowStartWithinBudgetStreams) {
  fail({{"mode", "slow"}, {"count", 1}, {"delay_ms", 400}});
  auto r = request();
  r.inter_token_timeout = milliseconds(200);  // not applied before the stream begins
  auto result = make()->generate_stream(r, log_.fn());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(log_.joined(), kAnswer);
}

// replay_*_answer(): the backends' reading of an answer without the network, over the
// fuzz targets' seed answers (fuzz/seeds/backend_replies).
class ReplayedAnswerTest : public ::testing::Test {
 protected:
  static std::string seed(const std::string& name) {
    std::ifstream in(std::string(LADDER_SOURCE_DIR) + "/fuzz/seeds/backend_replies/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static http::ReplayedAnswer streamed(const std::string& name, bool raw = false) {
    http::ReplayedAnswer a;
    a.stream = true;
    a.raw = raw;
    const std::string body = seed(name);
    for (std::size_t i = 0; i < body.size(); i += 7) a.pieces.push_back(body.substr(i, 7));
    return a;
  }
  static http::ReplayedAnswer reply(const std::string& name, int status = 200, bool raw = false) {
    http::ReplayedAnswer a;
    a.raw = raw;
    a.response.status = status;
    a.response.body = seed(name);
    return a;
  }
  static std::unique_ptr<Backend> made(Result<std::unique_ptr<Backend>> b) {
    EXPECT_TRUE(b.ok()) << b.status().to_string();
    return std::move(b.value());
  }
  static ModelConfig model() {
    ModelConfig m;
    m.name = "replay";
    m.base_url = "http://127.0.0.1:9";
    m.model = "replay-model";
    return m;
  }
  std::unique_ptr<Backend> openai_ = made(make_openai_backend(model()));
  std::unique_ptr<Backend> anthropic_ = made(make_anthropic_backend(model()));
  std::unique_ptr<Backend> ollama_ = made(make_ollama_backend(model()));
  DeltaLog log_;
};

TEST_F(ReplayedAnswerTest, RepliesReadAsGenerateReadsThem) {
  auto chat = replay_openai_answer(*openai_, reply("openai_chat.json"), log_.fn());
  ASSERT_TRUE(chat.ok()) << chat.status().to_string();
  EXPECT_EQ(chat->text, R"({"label": "build"})");
  EXPECT_EQ(chat->tokens.size(), 2u);
  EXPECT_EQ(chat->cached_prompt_tokens, 16);
  auto completion = replay_openai_answer(*openai_, reply("openai_completion.json", 200, true), log_.fn());
  ASSERT_TRUE(completion.ok()) << completion.status().to_string();
  EXPECT_EQ(completion->text, "build");
  EXPECT_EQ(completion->finish_reason, "length");
  auto message = replay_anthropic_answer(*anthropic_, reply("anthropic_message.json"), log_.fn());
  ASSERT_TRUE(message.ok()) << message.status().to_string();
  EXPECT_EQ(message->text, "The build fails.");
  auto generate = replay_ollama_answer(*ollama_, reply("ollama_generate.json", 200, true), log_.fn());
  ASSERT_FALSE(generate.ok());  // done false although stream was false
  EXPECT_EQ(generate.status().code(), ErrorCode::kBadResponse);

  auto limited = replay_openai_answer(*openai_, reply("openai_error.json", 429), log_.fn());
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.status().code(), ErrorCode::kRateLimited);
  EXPECT_NE(limited.status().message().find("Rate limit reached"), std::string::npos);
  EXPECT_TRUE(log_.deltas.empty());
}

TEST_F(ReplayedAnswerTest, StreamsInPiecesReadAsGenerateStreamReadsThem) {
  auto chat = replay_openai_answer(*openai_, streamed("openai_chat_stream.sse"), log_.fn());
  ASSERT_TRUE(chat.ok()) << chat.status().to_string();
  EXPECT_EQ(chat->text, "The quick fox");
  EXPECT_EQ(log_.joined(), "The quick fox");
  EXPECT_EQ(chat->prompt_tokens, 9);
  auto completion = replay_openai_answer(*openai_, streamed("openai_completion_stream.sse", true), log_.fn());
  ASSERT_TRUE(completion.ok()) << completion.status().to_string();
  EXPECT_EQ(completion->text, "build");
  auto anthropic = replay_anthropic_answer(*anthropic_, streamed("anthropic_stream.sse"), log_.fn());
  ASSERT_TRUE(anthropic.ok()) << anthropic.status().to_string();
  EXPECT_EQ(anthropic->text, "The quick fox");
  EXPECT_EQ(anthropic->finish_reason, "end_turn");
  auto ollama = replay_ollama_answer(*ollama_, streamed("ollama_generate_stream.ndjson", true), log_.fn());
  ASSERT_TRUE(ollama.ok()) << ollama.status().to_string();
  EXPECT_EQ(ollama->text, "build");
  EXPECT_EQ(ollama->finish_reason, "length");

  auto limited = replay_anthropic_answer(*anthropic_, streamed("anthropic_stream_error.sse"), log_.fn());
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.status().code(), ErrorCode::kRateLimited);
  auto missing = replay_ollama_answer(*ollama_, streamed("ollama_stream_error.ndjson"), log_.fn());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kUpstreamError);
}

TEST_F(ReplayedAnswerTest, ABackendOfAnotherKindIsRefused) {
  auto wrong = replay_anthropic_answer(*openai_, reply("anthropic_message.json"), log_.fn());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), ErrorCode::kInternal);
}

INSTANTIATE_TEST_SUITE_P(Backends, StreamingBackendTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<StreamCase>& info) { return info.param.name; });

}  // namespace
}  // namespace ladder
