// The checks of generate tasks (quotes_grounded, answer_length, verbatim_copy, the
// quantile confidence) on constructed log-summary answers.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ladder/reason.h"
#include "policy/hard_stops.h"
#include "validators/confidence.h"
#include "validators/registry.h"

namespace ladder {
namespace {

using nlohmann::json;

const char* kLog =
    "Run npm test\n"
    "> shop@1.0.0 test\n"
    "> jest --ci\n"
    "PASS src/components/Header.test.js\n"
    "FAIL src/cart/total.test.js\n"
    "  ● total › sums items\n"
    "    Expected: 42\n"
    "    Received: 41\n"
    "Tests: 1 failed, 120 passed, 121 total\n"
    "error: Process completed with exit code 1.\n";

// Every character of `text` as a token at probability p (p = 1: forced).
GenerationResult answer_with(const std::string& text, double p) {
  GenerationResult g;
  g.has_logprobs = true;
  g.text = text;
  g.tokens.push_back(TokenLogprob{text, p >= 1.0 ? 0.0 : std::log(p), {}});
  return g;
}

class GenerateChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TaskConfig t;
    t.name = "summarize_log";
    t.kind = TaskKind::kGenerate;
    t.checks.grounded = {"errors", "files"};
    t.checks.min_chars = 20;
    t.checks.max_chars = 600;
    t.checks.max_copy_ratio = 0.5;
    config_.tasks[t.name] = t;
    schema_ = {{"type", "object"},
               {"required", {"failing_step", "errors", "summary"}},
               {"properties",
                {{"failing_step", {{"type", "string"}}},
                 {"errors", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                 {"files", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                 {"summary", {{"type", "string"}}}}}};
    auto scanner = HardStopScanner::create(config_.hard_stops);
    ASSERT_TRUE(scanner.ok());
    scanner_ = std::move(scanner.value());
  }

  std::vector<ValidatorResult> run(const GenerationResult& g, std::string_view input = kLog,
                                   std::string_view original = {}) {
    ValidationContext ctx;
    ctx.config = &config_;
    ctx.task = config_.find_task("summarize_log");
    ctx.input = input;
    ctx.original_input = original.empty() ? input : original;
    ctx.generation = &g;
    ctx.schema = &schema_;
    ctx.scanner = scanner_.get();
    return run_validators(ctx);
  }

  static const ValidatorResult* named(const std::vector<ValidatorResult>& rs, std::string_view name) {
    for (const auto& r : rs)
      if (r.validator == name) return &r;
    return nullptr;
  }

  TaskConfig& task() { return config_.tasks["summarize_log"]; }

  Config config_;
  json schema_;
  std::unique_ptr<HardStopScanner> scanner_;
};

const json kGood = {{"failing_step", "npm test"},
                    {"errors", {"FAIL src/cart/total.test.js", "Expected: 42", "Received: 41"}},
                    {"files", {"src/cart/total.test.js"}},
                    {"summary", "The jest test 'total sums items' fails: it expects 42 but gets 41."}};

TEST_F(GenerateChecksTest, GoodExtractiveAnswerPasses) {
  auto results = run(answer_with(kGood.dump(), 0.9));
  for (const auto& r : results) EXPECT_TRUE(r.passed) << r.validator << ": " << r.detail;
  for (const char* name : {"quotes_grounded", "answer_length", "verbatim_copy"})
    EXPECT_NE(named(results, name), nullptr) << name;
  EXPECT_FALSE(first_failure_reason(results).has_value());
}

TEST_F(GenerateChecksTest, UngroundedQuoteEscalates) {
  json answer = kGood;
  answer["errors"][1] = "TypeError: cannot read properties of undefined";
  auto results = run(answer_with(answer.dump(), 0.9));
  const auto* r = named(results, "quotes_grounded");
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->passed);
  EXPECT_EQ(r->reason, Reason::kArgsUngrounded);
  EXPECT_NE(r->detail.find("errors[1]"), std::string::npos) << r->detail;
  EXPECT_EQ(first_failure_reason(results), Reason::kArgsUngrounded);
}

TEST_F(GenerateChecksTest, QuoteFromTheOriginalInputIsGroundedToo) {
  json answer = kGood;
  answer["errors"][0] = "2024-01-01T00:00:00Z FAIL src/cart/total.test.js";
  const std::string original = "2024-01-01T00:00:00Z FAIL src/cart/total.test.js\n";
  auto results = run(answer_with(answer.dump(), 0.9), kLog, original);
  EXPECT_TRUE(named(results, "quotes_grounded")->passed) << named(results, "quotes_grounded")->detail;
}

TEST_F(GenerateChecksTest, VerbatimCopyEscalates) {
  json answer = {{"failing_step", "npm test"}, {"errors", json::array()}, {"summary", kLog}};
  auto results = run(answer_with(answer.dump(), 0.9));
  const auto* r = named(results, "verbatim_copy");
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->passed);
  EXPECT_EQ(r->reason, Reason::kSchemaInvalid);
  EXPECT_NE(r->detail.find("input lines"), std::string::npos) << r->detail;
}

TEST_F(GenerateChecksTest, QuotingEveryLineAsErrorsIsACopyToo) {
  json errors = json::array();
  for (const char* line :
       {"FAIL src/cart/total.test.js", "Expected: 42", "Received: 41", "PASS src/components/Header.test.js",
        "Tests: 1 failed, 120 passed, 121 total", "error: Process completed with exit code 1."})
    errors.push_back(line);
  json answer = {{"failing_step", "npm test"}, {"errors", errors}, {"summary", "tests fail in the cart module"}};
  auto results = run(answer_with(answer.dump(), 0.9));
  EXPECT_FALSE(named(results, "verbatim_copy")->passed) << named(results, "verbatim_copy")->detail;
}

TEST_F(GenerateChecksTest, CopiedFreeTextOfAShortInputEscalates) {
  const std::string input = "src/widget.c:57:9: error: 'count' undeclared (first use in this function)\n";
  json answer = {{"failing_step", "make"},
                 {"errors", {"error: 'count' undeclared"}},
                 {"summary", "src/widget.c:57:9: error: 'count' undeclared (first use in this function)"}};
  auto results = run(answer_with(answer.dump(), 0.9), input);
  const auto* r = named(results, "verbatim_copy");
  EXPECT_FALSE(r->passed);
  EXPECT_NE(r->detail.find("summary"), std::string::npos) << r->detail;
}

TEST_F(GenerateChecksTest, LengthBounds) {
  json tiny = {{"failing_step", "x"}, {"errors", json::array()}, {"summary", "fail"}};
  auto results = run(answer_with(tiny.dump(), 0.9));
  EXPECT_FALSE(named(results, "answer_length")->passed);
  EXPECT_EQ(named(results, "answer_length")->reason, Reason::kSchemaInvalid);
  EXPECT_NE(named(results, "answer_length")->detail.find("under min_chars 20"), std::string::npos);

  json huge = kGood;
  huge["summary"] = std::string(700, 'a');
  results = run(answer_with(huge.dump(), 0.9));
  EXPECT_FALSE(named(results, "answer_length")->passed);
  EXPECT_NE(named(results, "answer_length")->detail.find("over max_chars 600"), std::string::npos);
}

TEST_F(GenerateChecksTest, LowQuantileConfidenceEscalates) {
  task().min_confidence = 0.3;
  // Forced JSON tokens at probability 1 and free tokens at 0.9, except one unsure stretch.
  GenerationResult g;
  g.has_logprobs = true;
  const std::string text = kGood.dump();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const double lp = text[i] == '"' ? 0.0 : std::log(i == 40 || i == 41 ? 0.05 : 0.9);
    g.tokens.push_back(TokenLogprob{std::string(1, text[i]), lp, {}});
  }
  g.text = text;
  task().checks.confidence_quantile = 0.0;  // the weakest token decides
  auto results = run(g);
  EXPECT_FALSE(named(results, "confidence")->passed);
  EXPECT_EQ(named(results, "confidence")->reason, Reason::kConfidenceLow);
  task().checks.confidence_quantile = 0.1;  // p10: two weak tokens out of ~190 do not
  results = run(g);
  EXPECT_TRUE(named(results, "confidence")->passed) << named(results, "confidence")->detail;
}

TEST(TokenQuantile, IgnoresForcedTokensAndNeedsLogprobs) {
  GenerationResult g;
  EXPECT_FALSE(token_probability_quantile(g, 0.1).has_value());
  g.has_logprobs = true;
  g.tokens = {
      {"{", 0.0, {}}, {"a", std::log(0.5), {}}, {"b", std::log(0.9), {}}, {"c", std::log(0.8), {}}, {"}", 0.0, {}}};
  EXPECT_NEAR(*token_probability_quantile(g, 0.0), 0.5, 1e-9);
  EXPECT_NEAR(*token_probability_quantile(g, 0.5), 0.8, 1e-9);
  EXPECT_NEAR(*token_probability_quantile(g, 1.0), 0.9, 1e-9);
  g.tokens = {{"{}", 0.0, {}}};
  EXPECT_NEAR(*token_probability_quantile(g, 0.1), 1.0, 1e-9);
}

}  // namespace
}  // namespace ladder
