// One task's fit on constructed answers whose right calibration is known: answers the
// evidence corroborated are right 95 % of the time whatever their measured score, the
// others 5 %, so the two mappings must come out far apart.
#include "calibration/task_fit.h"

#include <gtest/gtest.h>

#include <random>

namespace ladder::calibration {
namespace {

std::vector<TaskAnswer> answers(int corroborated, int other, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> score(0.2, 0.8);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<TaskAnswer> out;
  for (int i = 0; i < corroborated + other; ++i) {
    const bool corr = i < corroborated;
    out.push_back({{score(gen), coin(gen) < (corr ? 0.95 : 0.05)}, i % 2 ? "build" : "test", corr});
  }
  return out;
}

TEST(TaskFitTest, CorroboratedAnswersGetTheirOwnMapping) {
  auto t = fit_task(answers(400, 400, 3), 5, /*by_evidence=*/true);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  ASSERT_NE(t->corroborated, nullptr);
  EXPECT_EQ(t->corroborated->samples, 400u);
  EXPECT_EQ(t->samples, 400u) << "the main mapping is fitted on the other answers";
  for (double p : {0.3, 0.5, 0.7}) {
    EXPECT_NEAR(t->corroborated->apply(p), 0.95, 0.05) << p;
    EXPECT_NEAR(t->apply(p), 0.05, 0.05) << p;
  }
  EXPECT_LT(t->corroborated->oof_ece, 0.05);
}

TEST(TaskFitTest, OnePopulationWithoutEvidenceOrWithTooFewCorroborated) {
  auto plain = fit_task(answers(400, 400, 4), 5, /*by_evidence=*/false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->corroborated, nullptr);
  EXPECT_EQ(plain->samples, 800u);
  EXPECT_NEAR(plain->apply(0.5), 0.5, 0.1) << "half right over both populations";

  auto few = fit_task(answers(3, 400, 5), 5, /*by_evidence=*/true);
  ASSERT_TRUE(few.ok());
  EXPECT_EQ(few->corroborated, nullptr) << "3 corroborated answers cannot be cross-validated in 5 folds";
  EXPECT_EQ(few->samples, 400u);

  auto none_other = fit_task(answers(400, 2, 6), 5, /*by_evidence=*/true);
  ASSERT_TRUE(none_other.ok());
  ASSERT_NE(none_other->corroborated, nullptr);
  EXPECT_EQ(none_other->samples, 402u) << "too few others: the main mapping takes every answer";

  EXPECT_FALSE(fit_task(answers(2, 1, 7), 5, /*by_evidence=*/true).ok()) << "fewer answers than folds";
}

TEST(TaskFitTest, LabelThresholdsAreOutOfFoldAndCanBeDropped) {
  // Corroborated answers right exactly when their score is above 0.5: a safe bar exists.
  std::vector<TaskAnswer> a;
  for (int i = 0; i < 200; ++i) {
    const double p = 0.2 + 0.6 * i / 199.0;
    a.push_back({{p, p > 0.5}, "build", true});
    a.push_back({{p, false}, "build", false});
  }
  auto t = fit_task(a, 5, /*by_evidence=*/true);
  ASSERT_TRUE(t.ok());
  ASSERT_NE(t->corroborated, nullptr);
  EXPECT_EQ(t->corroborated->label_thresholds.count("build"), 1u);
  EXPECT_EQ(t->label_thresholds.count("build"), 0u) << "no uncorroborated answer is ever right";
  drop_label_thresholds(*t);
  EXPECT_TRUE(t->label_thresholds.empty());
  EXPECT_TRUE(t->corroborated->label_thresholds.empty());
}

}  // namespace
}  // namespace ladder::calibration
