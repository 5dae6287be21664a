#include "router/calibration.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ladder {
namespace {

GenerationResult choice_answer(const std::string& chosen, double p_chosen,
                               std::vector<std::pair<std::string, double>> alternatives) {
  GenerationResult g;
  g.has_logprobs = true;
  g.tokens.push_back({"{\"label\": \"", 0.0, {}});
  TokenLogprob t{chosen, std::log(p_chosen), {}};
  for (auto& [piece, p] : alternatives) t.top.emplace_back(piece, std::log(p));
  g.tokens.push_back(t);
  g.tokens.push_back({"\"}", 0.0, {}});
  return g;
}

const std::vector<std::string> kLabels = {"build", "test", "dependency"};

TEST(CalibrationTest, DistributionCreditsEachTokenToItsChoice) {
  auto g = choice_answer("dependency", 0.6, {{"build", 0.3}, {"test", 0.1}});
  auto d = choice_distribution(g, 1, kLabels);
  ASSERT_TRUE(d.has_value());
  EXPECT_NEAR((*d)["dependency"], 0.6, 1e-9);
  EXPECT_NEAR((*d)["build"], 0.3, 1e-9);
  EXPECT_NEAR((*d)["test"], 0.1, 1e-9);
}

TEST(CalibrationTest, PartialPiecesCountAndSharedPiecesAreSplit) {
  const std::vector<std::string> ids = {"repo_triage_v1", "release_notes_v1", "none"};
  auto g = choice_answer("repo", 0.5, {{"re", 0.2}, {"none", 0.3}});
  auto d = choice_distribution(g, 1, ids);
  ASSERT_TRUE(d.has_value());
  EXPECT_NEAR((*d)["repo_triage_v1"], 0.6, 1e-9);
  EXPECT_NEAR((*d)["release_notes_v1"], 0.1, 1e-9);
  EXPECT_NEAR((*d)["none"], 0.3, 1e-9);
}

TEST(CalibrationTest, NoLogprobsOrNoMatchingTokenGivesNothing) {
  GenerationResult g;
  EXPECT_FALSE(choice_distribution(g, 1, kLabels).has_value());
  auto other = choice_answer("zzz", 1.0, {});
  EXPECT_FALSE(choice_distribution(other, 1, kLabels).has_value());
  EXPECT_FALSE(choice_distribution(other, 7, kLabels).has_value());
}

TEST(CalibrationTest, DividingOutThePriorRemovesTheLean) {
  // The model leans to "dependency" whatever the input: a content-free prior of 0.8.
  ChoiceProbs prior = {{"build", 0.1}, {"test", 0.1}, {"dependency", 0.8}};
  ChoiceProbs p = {{"build", 0.35}, {"test", 0.05}, {"dependency", 0.6}};
  auto q = calibrate(p, prior, kLabels);
  auto [best, prob] = best_choice(q);
  EXPECT_EQ(best, "build");
  double total = q["build"] + q["test"] + q["dependency"];
  EXPECT_NEAR(total, 1.0, 1e-9);
  EXPECT_NEAR(prob, 3.5 / (3.5 + 0.5 + 0.75), 1e-9);
}

TEST(CalibrationTest, UniformPriorChangesNothingAndZeroPriorIsFloored) {
  ChoiceProbs p = {{"build", 0.2}, {"test", 0.7}, {"dependency", 0.1}};
  ChoiceProbs uniform = {{"build", 1.0 / 3}, {"test", 1.0 / 3}, {"dependency", 1.0 / 3}};
  auto q = calibrate(p, uniform, kLabels);
  EXPECT_NEAR(q["test"], 0.7, 1e-9);
  ChoiceProbs zero = {{"build", 0.0}, {"test", 0.5}, {"dependency", 0.5}};
  auto z = calibrate(p, zero, kLabels);
  EXPECT_TRUE(std::isfinite(z["build"]));
}

TEST(CalibrationTest, AverageOfPriors) {
  auto a = average({{{"build", 1.0}}, {{"test", 1.0}}}, kLabels);
  EXPECT_NEAR(a["build"], 0.5, 1e-9);
  EXPECT_NEAR(a["test"], 0.5, 1e-9);
  EXPECT_NEAR(a["dependency"], 0.0, 1e-9);
  EXPECT_EQ(content_free_inputs().size(), 3u);
}

}  // namespace
}  // namespace ladder
