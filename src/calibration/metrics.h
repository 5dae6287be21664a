// Figures that judge a confidence against outcomes: ECE, Brier, log-loss, reliability
// bins, and the lowest acceptance threshold with no wrong answer accepted. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace ladder::calibration {

// One answer: its confidence (clamped to [0, 1]) and whether it was right.
struct Sample {
  double confidence = 0.0;
  bool right = false;
};

struct ReliabilityBin {
  double lo = 0.0, hi = 0.0;
  std::size_t n = 0;
  double mean_confidence = 0.0;  // 0 when n == 0
  double accuracy = 0.0;         // 0 when n == 0
};

struct Reliability {
  std::size_t n = 0;
  double ece = 0.0;  // sum over bins of n_bin / n * |mean_confidence - accuracy|
  double brier = 0.0;
  std::vector<ReliabilityBin> bins;  // equal-width over [0, 1]; 1.0 falls in the last bin
};

Reliability reliability(const std::vector<Sample>& samples, int bins = 10);

// Mean negative log-likelihood, confidences clipped to [1e-12, 1 - 1e-12].
double log_loss(const std::vector<Sample>& samples);

// The lowest threshold t such that accepting every sample with confidence >= t accepts
// no wrong one (the lowest right-sample confidence above every wrong one); nullopt when
// no right sample lies above every wrong one.
std::optional<double> zero_false_accept_threshold(const std::vector<Sample>& samples);

}  // namespace ladder::calibration
