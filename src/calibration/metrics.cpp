#include "calibration/metrics.h"

#include <algorithm>
#include <cmath>

namespace ladder::calibration {

Reliability reliability(const std::vector<Sample>& samples, int bins) {
  Reliability r;
  const int nb = std::max(1, bins);
  r.bins.resize(static_cast<std::size_t>(nb));
  std::vector<double> conf_sum(r.bins.size(), 0.0), right_sum(r.bins.size(), 0.0);
  for (int i = 0; i < nb; ++i) {
    r.bins[static_cast<std::size_t>(i)].lo = static_cast<double>(i) / nb;
    r.bins[static_cast<std::size_t>(i)].hi = static_cast<double>(i + 1) / nb;
  }
  double brier = 0.0;
  for (const auto& s : samples) {
    const double c = std::clamp(s.confidence, 0.0, 1.0);
    const double y = s.right ? 1.0 : 0.0;
    const auto b = static_cast<std::size_t>(std::min(nb - 1, static_cast<int>(c * nb)));
    ++r.bins[b].n;
    conf_sum[b] += c;
    right_sum[b] += y;
    brier += (c - y) * (c - y);
  }
  r.n = samples.size();
  if (r.n == 0) return r;
  for (std::size_t b = 0; b < r.bins.size(); ++b) {
    auto& bin = r.bins[b];
    if (bin.n == 0) continue;
    bin.mean_confidence = conf_sum[b] / static_cast<double>(bin.n);
    bin.accuracy = right_sum[b] / static_cast<double>(bin.n);
    r.ece += static_cast<double>(bin.n) / static_cast<double>(r.n) * std::abs(bin.mean_confidence - bin.accuracy);
  }
  r.brier = brier / static_cast<double>(r.n);
  return r;
}

double log_loss(const std::vector<Sample>& samples) {
  if (samples.empty()) return 0.0;
  double sum = 0.0;
  for (const auto& s : samples) {
    const double c = std::clamp(s.confidence, 1e-12, 1.0 - 1e-12);
    sum -= s.right ? std::log(c) : std::log1p(-c);
  }
  return sum / static_cast<double>(samples.size());
}

std::optional<double> zero_false_accept_threshold(const std::vector<Sample>& samples) {
  double worst_wrong = -1.0;
  for (const auto& s : samples)
    if (!s.right) worst_wrong = std::max(worst_wrong, s.confidence);
  std::optional<double> threshold;
  for (const auto& s : samples)
    if (s.right && s.confidence > worst_wrong && (!threshold || s.confidence < *threshold)) threshold = s.confidence;
  return threshold;
}

}  // namespace ladder::calibration
