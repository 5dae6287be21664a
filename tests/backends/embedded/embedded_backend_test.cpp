// Embedded llama.cpp backend against the real Gemma 3 270M model in models/.
#include "backends/embedded/embedded_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/utf8.h"

namespace ladder {
namespace {

const std::string kModelPath = std::string(LADDER_SOURCE_DIR) + "/models/gemma-3-270m-q4_k_m.gguf";
const std::vector<std::string> kLabels = {"bug", "feature", "question"};

ModelConfig model_config(int context_size = 4096) {
  ModelConfig config;
  config.name = "local";
  config.backend = "embedded";
  config.model_path = kModelPath;
  config.context_size = context_size;
  config.threads = 2;
  config.batch_size = 512;
  return config;
}

nlohmann::json label_schema() {
  return {{"type", "object"},
          {"properties", {{"label", {{"type", "string"}, {"enum", kLabels}}}}},
          {"required", {"label"}},
          {"additionalProperties", false}};
}

// Invented issue-triage examples; each rendered as in the classify prompt below.
struct Shot {
  const char* input;
  const char* label;
};
const Shot kShots[] = {
    {"The app crashes with a segmentation fault when I open a file larger than 2 GB.", "bug"},
    {"Please add a dark mode to the settings page so it is easier on the eyes at night.", "feature"},
    {"How do I configure the proxy settings when running behind a corporate firewall?", "question"},
    {"Clicking Save twice creates duplicate records in the database; expected one record.", "bug"},
    {"It would be great to export reports as CSV in addition to PDF.", "feature"},
    {"What is the difference between the free plan and the team plan regarding storage?", "question"},
    {"After upgrading to version 3.2 the login button does nothing and the console shows a TypeError.", "bug"},
    {"Could you support single sign-on with Okta for enterprise customers?", "feature"},
    {"Is there a way to run the tool offline, or does it always need an internet connection?", "question"},
    {"The search results page shows the wrong total count when filters are applied.", "bug"},
    {"Add keyboard shortcuts for the most common editor actions like bold and italic.", "feature"},
    {"Where can I find the API rate limits documented for the v2 endpoints?", "question"},
};

const std::vector<std::string> kLongInputs = {
    "When I try to upload a profile picture in PNG format the page reloads and the picture is gone. "
    "This happens on Chrome and Firefox, on Windows and on macOS, since last week's release. "
    "I cleared the cache and tried again in a private window, with the same result every time.",
    "We would love an option to schedule reports so that they are emailed every Monday morning to a list "
    "of recipients, with the choice of PDF or CSV, and a way to pause the schedule during holidays "
    "without deleting it. Our finance team asks for this every quarter.",
    "Is it possible to use the command line client with a self-hosted server that has a self-signed "
    "certificate? I found a flag for the CA bundle in the docs but I am not sure whether it applies to "
    "the sync command as well, or only to login. Which version introduced it?",
    "The notification badge keeps showing three unread messages even after I read all of them on both "
    "the mobile app and the web. Logging out and in again does not clear it. The counter in the API "
    "response is also three, so this looks like a server-side problem.",
};

std::string classify_prompt(const std::string& input) {
  std::string p =
      "Classify each GitHub issue as one of: bug, feature, question.\n"
      "A bug reports broken behaviour. A feature asks for something new. A question asks for help.\n"
      "Answer with JSON.\n\n";
  for (const auto& s : kShots) p += std::string("Issue: ") + s.input + "\nAnswer: {\"label\": \"" + s.label + "\"}\n\n";
  p += "Issue: " + input + "\nAnswer:";
  return p;
}

GenerationRequest classify_request(const std::string& input) {
  GenerationRequest r;
  r.prompt = classify_prompt(input);
  r.json_schema = label_schema();
  r.max_tokens = 24;
  r.top_logprobs = 5;
  return r;
}

bool is_prefix_of_some(const std::string& s, const std::vector<std::string>& options) {
  return std::any_of(options.begin(), options.end(),
                     [&](const std::string& o) { return o.compare(0, s.size(), s) == 0 && s.size() <= o.size(); });
}

// Index of the token whose text span contains byte `pos` of the generated text.
size_t token_at(const GenerationResult& r, size_t pos) {
  size_t offset = 0;
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    offset += r.tokens[i].token.size();
    if (pos < offset) return i;
  }
  return r.tokens.size();
}

class EmbeddedBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto b = make_embedded_backend(model_config());
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    backend_ = std::move(b).value().release();
  }
  static void TearDownTestSuite() {
    delete backend_;
    backend_ = nullptr;
  }
  static Backend* backend_;
};
Backend* EmbeddedBackendTest::backend_ = nullptr;

TEST_F(EmbeddedBackendTest, LoadsAndReportsHealthy) {
  ASSERT_NE(backend_, nullptr);
  EXPECT_TRUE(backend_->health().ok());
  EXPECT_EQ(backend_->kind(), "embedded");
  EXPECT_EQ(backend_->model(), "gemma-3-270m-q4_k_m.gguf");
}

TEST(EmbeddedBackendLoad, MissingFileIsNotFound) {
  ModelConfig config = model_config();
  config.model_path = std::string(LADDER_SOURCE_DIR) + "/models/does-not-exist.gguf";
  auto b = make_embedded_backend(config);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ErrorCode::kNotFound);
}

TEST(EmbeddedBackendLoad, NonModelFileIsUnavailable) {
  ModelConfig config = model_config();
  config.model_path = std::string(LADDER_SOURCE_DIR) + "/CMakeLists.txt";
  auto b = make_embedded_backend(config);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ErrorCode::kUnavailable);
}

TEST_F(EmbeddedBackendTest, SchemaConstrainedEnumAlwaysParses) {
  const std::vector<std::string> inputs = {
      "The export button throws an exception and nothing is downloaded.",
      "Please add support for two-factor authentication.",
      "How can I change my billing address?",
      "lorem ipsum dolor sit amet",
      "",
  };
  for (const auto& input : inputs) {
    auto r = backend_->generate(classify_request(input));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    auto parsed = nlohmann::json::parse(r->text, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << r->text;
    ASSERT_TRUE(parsed.is_object()) << r->text;
    ASSERT_TRUE(parsed.contains("label")) << r->text;
    const std::string label = parsed["label"].get<std::string>();
    EXPECT_NE(std::find(kLabels.begin(), kLabels.end(), label), kLabels.end()) << r->text;
    EXPECT_EQ(r->finish_reason, "grammar") << r->text;
    EXPECT_EQ(r->model, "gemma-3-270m-q4_k_m.gguf");
    EXPECT_GT(r->prompt_tokens, 0);
    EXPECT_EQ(r->completion_tokens, static_cast<int>(r->tokens.size()));
  }
}

TEST_F(EmbeddedBackendTest, LogprobsAreRenormalisedOverTheGrammar) {
  auto r = backend_->generate(classify_request("The page crashes with a null pointer exception on save."));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_TRUE(r->has_logprobs);
  ASSERT_FALSE(r->tokens.empty());
  std::string joined;
  for (const auto& t : r->tokens) joined += t.token;
  EXPECT_EQ(joined, r->text);  // spans in text map to tokens

  const auto parsed = nlohmann::json::parse(r->text);
  const std::string label = parsed["label"].get<std::string>();
  // The decisive token: the one holding the first character of the label value.
  const size_t value_pos = r->text.find("\"" + label + "\"") + 1;
  const size_t decisive = token_at(*r, value_pos);
  ASSERT_LT(decisive, r->tokens.size());
  const auto& d = r->tokens[decisive];
  const double p = std::exp(d.logprob);
  EXPECT_GT(p, 0.0);
  EXPECT_LE(p, 1.0 + 1e-9);
  std::printf("decisive token '%s' p=%.4f, alternatives:", d.token.c_str(), p);
  for (const auto& [tok, lp] : d.top) std::printf(" '%s'=%.4f", tok.c_str(), std::exp(lp));
  std::printf("\n");

  // Alternatives at the decisive step continue one of the allowed labels (a token may
  // start before the value, e.g. a quote merged with the label's first letters).
  size_t tok_start = 0;
  for (size_t i = 0; i < decisive; ++i) tok_start += r->tokens[i].token.size();
  std::vector<std::string> quoted;
  for (const auto& l : kLabels) quoted.push_back(l + "\"");
  double mass = 0.0;
  for (const auto& [tok, lp] : d.top) {
    const std::string candidate = r->text.substr(0, tok_start) + tok;
    ASSERT_GT(candidate.size(), value_pos) << "alternative '" << tok << "' does not reach the value";
    EXPECT_EQ(candidate.substr(0, value_pos), r->text.substr(0, value_pos));
    EXPECT_TRUE(is_prefix_of_some(candidate.substr(value_pos), quoted)) << "alternative '" << tok << "' not allowed";
    EXPECT_LE(lp, 1e-9);
    mass += std::exp(lp);
  }
  EXPECT_LE(mass, 1.0 + 1e-6);
  EXPECT_DOUBLE_EQ(d.top.front().second, d.logprob);  // greedy: chosen is the best allowed

  // Tokens after the label are forced by the grammar: `"}` leaves no choice.
  for (size_t i = decisive + 1; i < r->tokens.size(); ++i) {
    const auto& t = r->tokens[i];
    size_t start = 0;
    for (size_t j = 0; j < i; ++j) start += r->tokens[j].token.size();
    if (start >= value_pos + label.size()) {
      EXPECT_NEAR(t.logprob, 0.0, 0.05) << "token '" << t.token << "' after the label";
    }
  }
}

TEST_F(EmbeddedBackendTest, GbnfClosedChoiceAlternativesAreAllowedOnly) {
  GenerationRequest r;
  r.prompt = classify_prompt("Why does the installer ask for admin rights?");
  r.gbnf_grammar = R"(root ::= "bug" | "feature" | "question")";
  r.max_tokens = 8;
  r.top_logprobs = 10;
  auto out = backend_->generate(r);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_NE(std::find(kLabels.begin(), kLabels.end(), out->text), kLabels.end()) << out->text;
  ASSERT_FALSE(out->tokens.empty());
  const auto& first = out->tokens.front();
  ASSERT_FALSE(first.top.empty());
  double mass = 0.0;
  for (const auto& [tok, lp] : first.top) {
    EXPECT_TRUE(is_prefix_of_some(tok, kLabels)) << "'" << tok << "' is not an allowed start";
    mass += std::exp(lp);
  }
  EXPECT_LE(mass, 1.0 + 1e-6);
  EXPECT_GT(std::exp(first.logprob), 0.0);
  // Every token after the first is fully determined once the label has begun.
  for (size_t i = 1; i < out->tokens.size(); ++i) EXPECT_NEAR(out->tokens[i].logprob, 0.0, 1e-3);
}

TEST_F(EmbeddedBackendTest, ForcedTokensHaveLogprobZero) {
  GenerationRequest r;
  r.prompt = "The answer is";
  r.gbnf_grammar = R"(root ::= " forty-two, definitely.")";
  r.max_tokens = 32;
  auto out = backend_->generate(r);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(out->text, " forty-two, definitely.");
  EXPECT_EQ(out->finish_reason, "grammar");
  for (const auto& t : out->tokens) {
    // Several tokenisations of one string can be allowed; the model's own choice still
    // carries nearly all of the allowed mass.
    EXPECT_NEAR(t.logprob, 0.0, 0.1) << "token '" << t.token << "'";
  }
}

// The answer's fixed JSON prefix is part of the prompt; only the label and `"}` remain.
GenerationRequest classify_request_prefilled(const std::string& input) {
  GenerationRequest r;
  r.prompt = classify_prompt(input) + " {\"label\": \"";
  r.gbnf_grammar = R"(root ::= ("bug" | "feature" | "question") "\"}")";
  r.max_tokens = 8;
  return r;
}

// Same text, same tokens, bit-identical log-probabilities (chosen and alternatives).
void expect_identical(const GenerationResult& want, const GenerationResult& got, const char* what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(got.text, want.text);
  ASSERT_EQ(got.tokens.size(), want.tokens.size());
  for (size_t i = 0; i < want.tokens.size(); ++i) {
    EXPECT_EQ(got.tokens[i].token, want.tokens[i].token) << "token " << i;
    EXPECT_EQ(got.tokens[i].logprob, want.tokens[i].logprob) << "token " << i << " '" << want.tokens[i].token << "'";
    ASSERT_EQ(got.tokens[i].top.size(), want.tokens[i].top.size()) << "token " << i;
    for (size_t k = 0; k < want.tokens[i].top.size(); ++k) {
      EXPECT_EQ(got.tokens[i].top[k].first, want.tokens[i].top[k].first) << "token " << i << " alternative " << k;
      EXPECT_EQ(got.tokens[i].top[k].second, want.tokens[i].top[k].second) << "token " << i << " alternative " << k;
    }
  }
}

// These tests decode several full prompts; the machine may be busy.
GenerationRequest patient(GenerationRequest r) {
  r.timeout = std::chrono::milliseconds(600000);
  return r;
}

TEST_F(EmbeddedBackendTest, SameRequestSameProbabilitiesColdWarmAndAfterOthers) {
  const std::string input = "The export button produces an empty file when the report has more than 1000 rows.";
  auto fresh = make_embedded_backend(model_config());
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  Backend& b = **fresh;

  auto cold = b.generate(patient(classify_request(input)));
  ASSERT_TRUE(cold.ok()) << cold.status().to_string();
  EXPECT_EQ(cold->cached_prompt_tokens, 0);
  ASSERT_FALSE(cold->tokens.empty());

  auto again = b.generate(patient(classify_request(input)));
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_GT(again->cached_prompt_tokens, 300);  // the few-shot prefix was reused
  expect_identical(*cold, *again, "warm: the same request again");

  // Other requests in between: shorter and longer inputs, and one whose prompt continues
  // past the first prompt into what was generated after it.
  for (const auto& other : {std::string("Can you add a setting for the default language?"), kLongInputs[0],
                            std::string("Why does the sync stop at 99 %?")}) {
    auto r = b.generate(patient(classify_request(other)));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }
  ASSERT_TRUE(b.generate(patient(classify_request_prefilled(input))).ok());
  auto after = b.generate(patient(classify_request(input)));
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_GT(after->cached_prompt_tokens, 300);
  expect_identical(*cold, *after, "after other requests");

  // The suite's shared backend has served many other requests before this one.
  auto shared = backend_->generate(patient(classify_request(input)));
  ASSERT_TRUE(shared.ok()) << shared.status().to_string();
  expect_identical(*cold, *shared, "another backend with another history");
}

TEST_F(EmbeddedBackendTest, PromptContinuingAGeneratedAnswerMatchesColdRun) {
  // The prefilled prompt extends the plain prompt by the answer's first tokens, which the
  // plain request generated one at a time: their cached K/V must not be reused.
  const std::string input = "How do I change the language of the user interface? I cannot find where to set it.";
  auto fresh = make_embedded_backend(model_config());
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  GenerationRequest prefilled = patient(classify_request_prefilled(input));
  prefilled.top_logprobs = 3;
  auto cold = (*fresh)->generate(prefilled);
  ASSERT_TRUE(cold.ok()) << cold.status().to_string();
  ASSERT_TRUE(backend_->generate(patient(classify_request(input))).ok());
  auto warm = backend_->generate(prefilled);
  ASSERT_TRUE(warm.ok()) << warm.status().to_string();
  EXPECT_GT(warm->cached_prompt_tokens, 300);
  expect_identical(*cold, *warm, "prefilled after plain");
}

TEST_F(EmbeddedBackendTest, OverlongPromptIsPayloadTooLarge) {
  auto small = make_embedded_backend(model_config(/*context_size=*/256));
  ASSERT_TRUE(small.ok()) << small.status().to_string();
  GenerationRequest r;
  std::string prompt;
  for (int i = 0; i < 200; ++i) prompt += "many different words make many tokens ";
  r.prompt = prompt;
  auto out = (*small)->generate(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kPayloadTooLarge);
  // The same backend still serves a short prompt.
  r.prompt = "Hello";
  r.max_tokens = 2;
  EXPECT_TRUE((*small)->generate(r).ok());
}

TEST_F(EmbeddedBackendTest, InvalidGrammarIsInvalidArgument) {
  GenerationRequest r;
  r.prompt = "Hello";
  r.gbnf_grammar = "root ::= ( \"unclosed";
  auto out = backend_->generate(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("grammar"), std::string::npos) << out.status().message();

  r.gbnf_grammar = "start ::= \"x\"";  // no root rule
  out = backend_->generate(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(EmbeddedBackendTest, InvalidSchemaIsInvalidArgument) {
  GenerationRequest r;
  r.prompt = "Hello";
  r.json_schema = nlohmann::json{{"type", "object"}, {"properties", {{"a", {{"$ref", "#/definitions/missing"}}}}}};
  auto out = backend_->generate(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("json_schema"), std::string::npos) << out.status().message();
}

TEST_F(EmbeddedBackendTest, FewShotObviousCaseIsSensible) {
  auto r = backend_->generate(classify_request(
      "Please add a feature to export the dashboard as CSV; it would be great to have this new option."));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(nlohmann::json::parse(r->text)["label"], "feature") << r->text;
  auto q = backend_->generate(classify_request("How do I reset my password? Where can I find the settings?"));
  ASSERT_TRUE(q.ok()) << q.status().to_string();
  EXPECT_EQ(nlohmann::json::parse(q->text)["label"], "question") << q->text;
}

TEST_F(EmbeddedBackendTest, MaxTokensRespected) {
  GenerationRequest r;
  r.prompt = "Once upon a time, in a land far away,";
  r.max_tokens = 3;
  auto out = backend_->generate(r);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(out->completion_tokens, 3);
  EXPECT_EQ(out->tokens.size(), 3u);
  EXPECT_EQ(out->finish_reason, "length");
  for (const auto& t : out->tokens) {
    EXPECT_LE(t.logprob, 0.0);
    EXPECT_LE(t.top.size(), 5u);
    EXPECT_DOUBLE_EQ(t.top.front().second, t.logprob);  // greedy picks the raw argmax
  }

  // Constrained output cut by max_tokens reports "length" too.
  auto c = classify_request("The app freezes.");
  c.max_tokens = 2;
  auto cut = backend_->generate(c);
  ASSERT_TRUE(cut.ok()) << cut.status().to_string();
  EXPECT_EQ(cut->completion_tokens, 2);
  EXPECT_EQ(cut->finish_reason, "length");
}

TEST_F(EmbeddedBackendTest, ChatMessagesUseTheTemplate) {
  GenerationRequest r;
  r.messages = {{"user", "Reply with yes or no: is water wet?"}};
  r.gbnf_grammar = R"(root ::= "yes" | "no")";
  r.max_tokens = 4;
  auto out = backend_->generate(r);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_TRUE(out->text == "yes" || out->text == "no") << out->text;
}

TEST_F(EmbeddedBackendTest, TimeoutBetweenTokens) {
  GenerationRequest r;
  r.prompt = "Count: one, two, three,";
  r.max_tokens = 64;
  r.timeout = std::chrono::milliseconds(0);
  auto out = backend_->generate(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kTimeout);
  // The backend recovers afterwards.
  r.timeout = std::chrono::milliseconds(30000);
  r.max_tokens = 2;
  EXPECT_TRUE(backend_->generate(r).ok());
}

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Measures (prints, asserts nothing about time) a warm classify-shaped request: ~400-token
// shared few-shot prefix, ~60-80-token new input, ~6 generated tokens.
void measure_warm_classify(Backend& backend, const char* label,
                           GenerationRequest (*make_request)(const std::string&) = classify_request) {
  auto warm = backend.generate(make_request(kLongInputs[0]));  // prefix into the cache
  ASSERT_TRUE(warm.ok()) << warm.status().to_string();
  std::vector<double> wall, cpu;
  int prompt_tokens = 0, cached = 0, completion = 0;
  for (int round = 0; round < 3; ++round) {
    for (const auto& input : kLongInputs) {
      const double cpu_before = process_cpu_ms();
      auto r = backend.generate(make_request(input));
      cpu.push_back(process_cpu_ms() - cpu_before);
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      wall.push_back(r->latency_ms);
      prompt_tokens = r->prompt_tokens;
      cached = r->cached_prompt_tokens;
      completion = r->completion_tokens;
      EXPECT_GT(cached, 300);
    }
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  std::printf(
      "[embedded] warm classify (%s): prompt %d tokens (%d cached), %d generated; wall p50 %.1f ms "
      "(min %.1f, max %.1f), process CPU p50 %.1f ms, over %zu requests\n",
      label, prompt_tokens, cached, completion, wall[wall.size() / 2], wall.front(), wall.back(), cpu[cpu.size() / 2],
      wall.size());
}

TEST_F(EmbeddedBackendTest, WarmClassifyLatency) {
  measure_warm_classify(*backend_, "2 threads, JSON schema");
  measure_warm_classify(*backend_, "2 threads, JSON prefix in prompt", classify_request_prefilled);
}

TEST(EmbeddedBackendLatency, WarmClassifyOneThread) {
  // With one thread the process CPU time is the work itself, whatever else runs on the
  // machine: a load-independent estimate (2 dedicated cores: roughly half, plus overhead).
  ModelConfig config = model_config();
  config.threads = 1;
  auto b = make_embedded_backend(config);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  measure_warm_classify(**b, "1 thread, JSON schema");
  measure_warm_classify(**b, "1 thread, JSON prefix in prompt", classify_request_prefilled);
}

// ---- generate_stream --------------------------------------------------------------

struct StreamLog {
  std::vector<std::string> deltas;
  int stop_after = 0;  // 0: never stop
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

GenerationRequest free_text_request(const std::string& user, int max_tokens) {
  GenerationRequest r;
  r.messages = {{"user", user}};
  r.max_tokens = max_tokens;
  r.want_logprobs = false;
  r.timeout = std::chrono::milliseconds(120000);  // the machine may be busy
  return r;
}

bool has_non_ascii(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

TEST_F(EmbeddedBackendTest, StreamConcatenatesToWhatGenerateReturns) {
  const std::vector<GenerationRequest> requests = {
      free_text_request("Write one sentence about the sea.", 32),
      classify_request("The export button throws an exception when the report is empty."),
  };
  for (auto r : requests) {
    r.timeout = std::chrono::milliseconds(120000);
    auto whole = backend_->generate(r);
    ASSERT_TRUE(whole.ok()) << whole.status().to_string();
    StreamLog log;
    auto streamed = backend_->generate_stream(r, log.fn());
    ASSERT_TRUE(streamed.ok()) << streamed.status().to_string();
    EXPECT_EQ(log.joined(), whole->text);
    EXPECT_EQ(streamed->text, whole->text);
    EXPECT_EQ(streamed->finish_reason, whole->finish_reason);
    EXPECT_EQ(streamed->completion_tokens, whole->completion_tokens);
    EXPECT_EQ(streamed->tokens.size(), whole->tokens.size());
    EXPECT_GE(log.deltas.size(), 3u) << whole->text;
    for (const auto& d : log.deltas) {
      EXPECT_FALSE(d.empty());
      EXPECT_TRUE(valid_utf8(d)) << d;
    }
  }
}

TEST_F(EmbeddedBackendTest, StreamNeverSplitsAUtf8Character) {
  // Text the model continues in scripts and emoji that the tokenizer often spells with
  // several tokens per character (byte fallback).
  const std::vector<std::string> prompts = {
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE6\x96\x87\xE7\xAB\xA0\xEF\xBC\x9A"
      "\xE4\xBB\x8A\xE6\x97\xA5\xE3\x81\xAF\xE3\x81\xA8\xE3\x81\xA6\xE3\x82\x82",  // 日本語の文章：今日はとても
      "Emoji: \xF0\x9F\x98\x80 \xF0\x9F\xA6\x8A \xF0\x9F\xAA\x90 \xF0\x9F\xA7\xBF",  // 😀 🦊 🪐 🧿
  };
  bool saw_split_character = false;
  for (const auto& prompt : prompts) {
    GenerationRequest r;
    r.prompt = prompt;
    r.max_tokens = 24;
    r.want_logprobs = false;
    r.timeout = std::chrono::milliseconds(120000);
    auto whole = backend_->generate(r);
    ASSERT_TRUE(whole.ok()) << whole.status().to_string();
    StreamLog log;
    auto streamed = backend_->generate_stream(r, log.fn());
    ASSERT_TRUE(streamed.ok()) << streamed.status().to_string();
    EXPECT_EQ(log.joined(), whole->text);
    // A character cut short by max_tokens may end the last delta; every other one is whole.
    for (size_t i = 0; i + 1 < log.deltas.size(); ++i)
      EXPECT_TRUE(valid_utf8(log.deltas[i])) << i << ": " << log.deltas[i];
    if (valid_utf8(whole->text) && !log.deltas.empty()) EXPECT_TRUE(valid_utf8(log.deltas.back()));
    // Fewer deltas than tokens: some character's bytes came in several tokens and were
    // held back until complete.
    if (has_non_ascii(whole->text) && log.deltas.size() < static_cast<size_t>(streamed->completion_tokens)) {
      saw_split_character = true;
    }
  }
  EXPECT_TRUE(saw_split_character) << "no character spanned several tokens: the test proves nothing";
}

TEST_F(EmbeddedBackendTest, StreamStopsWhenTheConsumerDoes) {
  auto r = free_text_request("Count from one to thirty in words.", 64);
  StreamLog log;
  log.stop_after = 1;
  auto streamed = backend_->generate_stream(r, log.fn());
  ASSERT_TRUE(streamed.ok()) << streamed.status().to_string();
  ASSERT_EQ(log.deltas.size(), 1u);
  EXPECT_EQ(streamed->finish_reason, "cancelled");
  EXPECT_EQ(streamed->text, log.deltas[0]);
  EXPECT_LE(streamed->completion_tokens, 3);
  // The backend serves the next request normally.
  auto next = backend_->generate(free_text_request("Say hi.", 4));
  EXPECT_TRUE(next.ok()) << next.status().to_string();
}

TEST_F(EmbeddedBackendTest, StreamInterTokenTimeoutIsTimeoutAfterADelta) {
  auto r = free_text_request("Count from one to thirty in words.", 64);
  r.inter_token_timeout = std::chrono::milliseconds(1);  // a decode step takes longer
  StreamLog log;
  auto streamed = backend_->generate_stream(r, log.fn());
  ASSERT_FALSE(streamed.ok()) << streamed->text;
  EXPECT_EQ(streamed.status().code(), ErrorCode::kTimeout) << streamed.status().to_string();
  EXPECT_NE(streamed.status().message().find("inter-token"), std::string::npos) << streamed.status().message();
  EXPECT_GE(log.deltas.size(), 1u);
  // Without the limit the same request streams to its end.
  r.inter_token_timeout = std::chrono::milliseconds(0);
  r.max_tokens = 8;
  StreamLog again;
  auto ok = backend_->generate_stream(r, again.fn());
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(again.joined(), ok->text);
}

}  // namespace
}  // namespace ladder
