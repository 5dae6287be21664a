// Upstream answers as the network backends read them (src/backends/openai, anthropic,
// ollama): each input is replayed as a 200 reply of the chat and the completion API, as
// a 503 error body, and as a streamed body (SSE for OpenAI and Anthropic, NDJSON for
// Ollama), whole and cut into pieces. The cut must not change the outcome, the deltas
// must add up to the answer, and the API key must never appear in an error message.
#include <cstdlib>
#include <memory>
#include <string>

#include "backends/anthropic/anthropic_backend.h"
#include "backends/http/json_endpoint.h"
#include "backends/ollama/ollama_backend.h"
#include "backends/openai/openai_backend.h"
#include "fuzz_support.h"

namespace {

using ladder::Backend;
using ladder::ErrorCode;
using ladder::GenerationResult;
using ladder::Result;
using ladder::http::ReplayedAnswer;

constexpr const char* kKeyEnv = "LADDER_FUZZ_API_KEY";
constexpr std::string_view kKey = "sk-fuzz-0123456789";

using ReplayFn = Result<GenerationResult> (*)(const Backend&, const ReplayedAnswer&, const ladder::DeltaFn&);

struct Upstream {
  std::unique_ptr<Backend> backend;
  ReplayFn replay;
  bool has_raw;  // a completion API besides chat
};

std::unique_ptr<Backend> make(Result<std::unique_ptr<Backend>> made) {
  if (!made.ok()) ladder::fuzz::check_failed(made.status().message().c_str(), __FILE__, __LINE__);
  return std::move(made.value());
}

const std::vector<Upstream>& upstreams() {
  static const std::vector<Upstream> all = [] {
    setenv(kKeyEnv, std::string(kKey).c_str(), 1);
    ladder::ModelConfig model;
    model.name = "fuzz";
    model.base_url = "http://127.0.0.1:9";  // never contacted
    model.model = "fuzz-model";
    model.api_key_env = kKeyEnv;
    std::vector<Upstream> v;
    v.push_back({make(ladder::make_openai_backend(model)), ladder::replay_openai_answer, true});
    v.push_back({make(ladder::make_anthropic_backend(model)), ladder::replay_anthropic_answer, false});
    v.push_back({make(ladder::make_ollama_backend(model)), ladder::replay_ollama_answer, true});
    return v;
  }();
  return all;
}

void check_failure(const ladder::Status& status) {
  LADDER_FUZZ_CHECK(status.code() != ErrorCode::kInternal);
  LADDER_FUZZ_CHECK(!status.message().empty());
  LADDER_FUZZ_CHECK(status.message().find(kKey) == std::string::npos);
}

struct Streamed {
  Result<GenerationResult> result;
  std::string deltas;
};

Streamed stream(const Upstream& u, bool raw, std::vector<std::string> pieces) {
  ReplayedAnswer answer;
  answer.stream = true;
  answer.raw = raw;
  answer.pieces = std::move(pieces);
  std::string deltas;
  auto result = u.replay(*u.backend, answer, [&](std::string_view delta) {
    LADDER_FUZZ_CHECK(!delta.empty());
    deltas.append(delta);
    return deltas.size() < 4096;  // a consumer that stops part way
  });
  return {std::move(result), std::move(deltas)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = ladder::fuzz::as_text(data, size);
  for (const Upstream& u : upstreams()) {
    ReplayedAnswer error;
    error.response.status = 503;
    error.response.headers = {{"Retry-After", std::string(body.substr(0, body.find('\n')))}};
    error.response.body = std::string(body);
    auto refused = u.replay(*u.backend, error, [](std::string_view) { return true; });
    LADDER_FUZZ_CHECK(!refused.ok() && refused.status().code() == ErrorCode::kUpstreamError);
    check_failure(refused.status());

    for (bool raw : {false, true}) {
      if (raw && !u.has_raw) continue;
      ReplayedAnswer answer;
      answer.raw = raw;
      answer.response.status = 200;
      answer.response.body = std::string(body);
      auto reply = u.replay(*u.backend, answer, [](std::string_view) { return true; });
      if (!reply.ok()) {
        check_failure(reply.status());
        LADDER_FUZZ_CHECK(reply.status().code() == ErrorCode::kBadResponse);
      }

      const Streamed whole = stream(u, raw, {std::string(body)});
      const Streamed cut = stream(u, raw, ladder::fuzz::cut(body));
      LADDER_FUZZ_CHECK(whole.result.ok() == cut.result.ok());
      LADDER_FUZZ_CHECK(whole.deltas == cut.deltas);
      if (whole.result.ok()) {
        LADDER_FUZZ_CHECK(whole.result->text == whole.deltas);
        LADDER_FUZZ_CHECK(cut.result->text == whole.result->text);
        LADDER_FUZZ_CHECK(cut.result->finish_reason == whole.result->finish_reason);
      } else {
        check_failure(whole.result.status());
        LADDER_FUZZ_CHECK(whole.result.status().code() == cut.result.status().code());
        LADDER_FUZZ_CHECK(whole.result.status().message() == cut.result.status().message());
      }
    }
  }
  return 0;
}
