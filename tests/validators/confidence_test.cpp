#include "validators/confidence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "answers.h"

namespace ladder {
namespace {

using test_answers::generation;

TEST(SpanConfidenceTest, MultipliesOverlappingTokens) {
  // {"label": "build"}  with "build" split in two tokens.
  auto g = generation({{"{\"label\": \"", 0.0}, {"bu", std::log(0.8)}, {"ild", std::log(0.5)}, {"\"}", 0.0}});
  const std::size_t begin = g.text.find("build");
  auto p = span_confidence(g, begin, begin + 5);
  ASSERT_TRUE(p.has_value());
  EXPECT_NEAR(*p, 0.4, 1e-9);
  // Only the first token overlaps [begin, begin+1).
  EXPECT_NEAR(*span_confidence(g, begin, begin + 1), 0.8, 1e-9);
}

TEST(SpanConfidenceTest, PartialOverlapCountsTheWholeToken) {
  auto g = generation({{"ab", std::log(0.5)}, {"cd", std::log(0.5)}, {"ef", std::log(0.5)}});
  EXPECT_NEAR(*span_confidence(g, 1, 3), 0.25, 1e-9);  // "bc": tokens ab and cd
  EXPECT_NEAR(*span_confidence(g, 2, 4), 0.5, 1e-9);   // "cd": exactly one token
}

TEST(SpanConfidenceTest, NulloptWithoutLogprobs) {
  GenerationResult g;
  g.text = "{\"label\": \"build\"}";
  EXPECT_FALSE(span_confidence(g, 0, 3).has_value());
  auto with_tokens = generation({{"{\"label\": \"build\"}", 0.0}});
  with_tokens.has_logprobs = false;
  EXPECT_FALSE(span_confidence(with_tokens, 0, 3).has_value());
}

TEST(SpanConfidenceTest, NulloptWhenTokensDoNotRebuildText) {
  auto g = generation({{"{\"label\": ", 0.0}, {"\"build\"}", -0.1}});
  g.text += " ";  // text differs from the concatenated pieces
  EXPECT_FALSE(span_confidence(g, 0, 3).has_value());
}

TEST(SpanConfidenceTest, NulloptForEmptyOrOutOfRangeSpan) {
  auto g = generation({{"abc", -0.1}});
  EXPECT_FALSE(span_confidence(g, 1, 1).has_value());
  EXPECT_FALSE(span_confidence(g, 2, 9).has_value());
}

TEST(JsonValueConfidenceTest, StringValue) {
  auto g =
      generation({{"{\"", 0.0}, {"label", 0.0}, {"\":", 0.0}, {" \"", 0.0}, {"test", std::log(0.9)}, {"\"}", 0.0}});
  EXPECT_NEAR(*json_value_confidence(g, "label"), 0.9, 1e-9);
}

TEST(JsonValueConfidenceTest, NumberValue) {
  auto g = generation({{"{\"prCount\":", 0.0}, {"1", std::log(0.5)}, {"2", std::log(0.5)}, {",\"x\":1}", 0.0}});
  EXPECT_NEAR(*json_value_confidence(g, "prCount"), 0.25, 1e-9);
}

TEST(JsonValueConfidenceTest, KeyTextAsValueIsNotTheKey) {
  // "label" first appears as a value; the real key comes later.
  auto g = generation({{"{\"note\": \"label\", \"label\": \"", 0.0}, {"dependency", std::log(0.6)}, {"\"}", 0.0}});
  EXPECT_NEAR(*json_value_confidence(g, "label"), 0.6, 1e-9);
}

TEST(JsonValueConfidenceTest, MissingKeyOrLogprobs) {
  auto g = generation({{"{\"label\": \"build\"}", -0.2}});
  EXPECT_FALSE(json_value_confidence(g, "macro").has_value());
  g.has_logprobs = false;
  EXPECT_FALSE(json_value_confidence(g, "label").has_value());
}

}  // namespace
}  // namespace ladder
