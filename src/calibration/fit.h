// Mapping a measured token probability to a calibrated confidence, fitted on outcomes:
// Platt scaling (a logistic curve on the probability's logit) and isotonic regression
// (pool-adjacent-violators), chosen by k-fold cross-validated log-loss. Pure.
#pragma once

#include <string>
#include <vector>

#include "calibration/metrics.h"
#include "ladder/status.h"

namespace ladder::calibration {

// q = 1 / (1 + exp(-(a * logit(p) + b))), p clipped to [1e-6, 1 - 1e-6].
struct Platt {
  double a = 1.0, b = 0.0;
  double apply(double p) const;
};

// Non-decreasing step function: knots ascending in x; apply(p) is the value of the last
// knot with x <= p (the first knot's value below it).
struct Isotonic {
  std::vector<double> x, y;
  double apply(double p) const;
};

enum class Method { kPlatt, kIsotonic };
const char* method_name(Method m);

// Maximum-likelihood Platt fit (Newton's method with a small ridge). At least one sample.
Result<Platt> fit_platt(const std::vector<Sample>& samples);
// Least-squares isotonic fit. At least one sample.
Result<Isotonic> fit_isotonic(const std::vector<Sample>& samples);

struct MethodFigures {
  double log_loss = 0.0;
  Reliability reliability;  // ece, brier of the out-of-fold confidences
};

struct CrossValidation {
  int folds = 0;
  MethodFigures platt, isotonic, raw;  // raw: the measured probability as it is
  Method chosen = Method::kPlatt;      // lower out-of-fold log-loss (Platt on a tie)
  std::vector<Sample> out_of_fold;     // the chosen method's out-of-fold confidences
};

// Sample i goes to fold i % folds. Needs folds >= 2 and at least `folds` samples.
Result<CrossValidation> cross_validate(const std::vector<Sample>& samples, int folds);

}  // namespace ladder::calibration
