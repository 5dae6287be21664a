// Calibration fits on constructed cases whose right answer is known.
#include "calibration/fit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace ladder::calibration {
namespace {

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Scores uniform in (0.02, 0.98); right with probability sigmoid(a * logit(p) + b).
std::vector<Sample> logistic_samples(double a, double b, int n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> score(0.02, 0.98);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i) {
    const double p = score(gen);
    const double truth = sigmoid(a * std::log(p / (1 - p)) + b);
    out.push_back({p, coin(gen) < truth});
  }
  return out;
}

TEST(PlattTest, RecoversAKnownLogisticCurve) {
  auto fit = fit_platt(logistic_samples(2.0, -0.5, 20000, 7));
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  EXPECT_NEAR(fit->a, 2.0, 0.1);
  EXPECT_NEAR(fit->b, -0.5, 0.1);
  EXPECT_NEAR(fit->apply(0.5), sigmoid(-0.5), 0.03);
}

TEST(PlattTest, SeparatedClassesStayFinite) {
  std::vector<Sample> s = {{0.1, false}, {0.2, false}, {0.8, true}, {0.9, true}};
  auto fit = fit_platt(s);
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  EXPECT_TRUE(std::isfinite(fit->a));
  EXPECT_GT(fit->apply(0.9), fit->apply(0.1));
}

TEST(IsotonicTest, PoolsViolatorsAndIsMonotone) {
  std::vector<Sample> s = {{0.1, false}, {0.2, true}, {0.3, false}, {0.4, true}};
  auto fit = fit_isotonic(s);
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  ASSERT_EQ(fit->y.size(), 3u);
  EXPECT_EQ(fit->y[0], 0.0);
  EXPECT_EQ(fit->y[1], 0.5);
  EXPECT_EQ(fit->y[2], 1.0);
  EXPECT_EQ(fit->apply(0.05), 0.0);
  EXPECT_EQ(fit->apply(0.25), 0.5);
  EXPECT_EQ(fit->apply(0.95), 1.0);

  auto big = fit_isotonic(logistic_samples(1.5, 0.3, 5000, 11));
  ASSERT_TRUE(big.ok());
  for (size_t i = 1; i < big->y.size(); ++i) EXPECT_GE(big->y[i], big->y[i - 1]) << i;
  double prev = -1;
  for (double p = 0.0; p <= 1.0; p += 0.01) {
    EXPECT_GE(big->apply(p), prev) << p;
    prev = big->apply(p);
  }
}

TEST(FitTest, EmptyInputIsAnError) {
  EXPECT_EQ(fit_platt({}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(fit_isotonic({}).status().code(), ErrorCode::kInvalidArgument);
  auto cv = cross_validate({}, 5);
  ASSERT_FALSE(cv.ok());
  EXPECT_NE(cv.status().message().find("needs at least 5 samples, got 0"), std::string::npos);
  EXPECT_FALSE(cross_validate(logistic_samples(1, 0, 10, 1), 1).ok());
}

TEST(CrossValidationTest, OutOfFoldFiguresImproveOnAMiscalibratedScore) {
  // The score is overconfident (truth is a flatter curve): calibration must lower ECE.
  auto samples = logistic_samples(0.4, 0.0, 4000, 3);
  auto cv = cross_validate(samples, 5);
  ASSERT_TRUE(cv.ok()) << cv.status().to_string();
  EXPECT_EQ(cv->folds, 5);
  EXPECT_EQ(cv->out_of_fold.size(), samples.size());
  EXPECT_LT(cv->platt.reliability.ece, cv->raw.reliability.ece / 3);
  EXPECT_LT(cv->platt.log_loss, cv->raw.log_loss);
  const auto& best = cv->chosen == Method::kPlatt ? cv->platt : cv->isotonic;
  EXPECT_LE(best.log_loss, std::min(cv->platt.log_loss, cv->isotonic.log_loss));
}

TEST(MetricsTest, EceBrierLogLossAndThreshold) {
  std::vector<Sample> s = {{0.95, true}, {0.95, false}, {0.25, false}, {0.65, true}, {1.0, true}};
  auto r = reliability(s);
  EXPECT_EQ(r.n, 5u);
  ASSERT_EQ(r.bins.size(), 10u);
  EXPECT_EQ(r.bins[9].n, 3u);  // 1.0 goes in the last bin
  EXPECT_NEAR(r.bins[9].accuracy, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.ece, (3 * std::abs((0.95 + 0.95 + 1.0) / 3 - 2.0 / 3) + 0.25 + 0.35) / 5, 1e-12);
  EXPECT_NEAR(r.brier, (0.05 * 0.05 + 0.95 * 0.95 + 0.25 * 0.25 + 0.35 * 0.35 + 0) / 5, 1e-12);
  EXPECT_NEAR(log_loss({{0.5, true}, {0.5, false}}), std::log(2.0), 1e-12);
  EXPECT_EQ(zero_false_accept_threshold(s), 1.0);  // only the 1.0 answer lies above the wrong 0.95
  EXPECT_FALSE(zero_false_accept_threshold({{0.9, false}, {0.8, true}}).has_value());
  EXPECT_EQ(zero_false_accept_threshold({{0.6, false}, {0.6, true}, {0.7, true}, {0.3, true}}), 0.7);
  EXPECT_EQ(reliability({}).ece, 0.0);
}

}  // namespace
}  // namespace ladder::calibration
