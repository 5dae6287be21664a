#include "calibration/fit.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ladder::calibration {
namespace {

double logit(double p) {
  const double c = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(c / (1.0 - c));
}

double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }

Status need_samples(const std::vector<Sample>& samples) {
  if (samples.empty()) return make_error(ErrorCode::kInvalidArgument, "calibration needs at least one sample");
  return Status::ok_status();
}

}  // namespace

const char* method_name(Method m) { return m == Method::kPlatt ? "platt" : "isotonic"; }

double Platt::apply(double p) const { return sigmoid(a * logit(p) + b); }

double Isotonic::apply(double p) const {
  if (x.empty()) return p;
  const auto it = std::upper_bound(x.begin(), x.end(), p);
  if (it == x.begin()) return y.front();
  return y[static_cast<std::size_t>(it - x.begin()) - 1];
}

Result<Platt> fit_platt(const std::vector<Sample>& samples) {
  if (Status s = need_samples(samples); !s.ok()) return s;
  // Newton-Raphson on the log-likelihood of y ~ Bernoulli(sigmoid(a z + b)), z = logit(p);
  // a small ridge keeps it finite when the classes separate.
  constexpr double kRidge = 1e-6;
  Platt m;
  for (int iter = 0; iter < 100; ++iter) {
    double ga = -kRidge * m.a, gb = -kRidge * m.b;
    double haa = kRidge, hab = 0.0, hbb = kRidge;
    for (const auto& s : samples) {
      const double z = logit(s.confidence);
      const double q = sigmoid(m.a * z + m.b);
      const double r = (s.right ? 1.0 : 0.0) - q;
      const double w = q * (1.0 - q);
      ga += r * z;
      gb += r;
      haa += w * z * z;
      hab += w * z;
      hbb += w;
    }
    const double det = haa * hbb - hab * hab;
    if (!(det > 0.0)) break;
    const double da = (hbb * ga - hab * gb) / det;
    const double db = (haa * gb - hab * ga) / det;
    m.a += da;
    m.b += db;
    if (std::abs(da) < 1e-10 && std::abs(db) < 1e-10) break;
  }
  if (!std::isfinite(m.a) || !std::isfinite(m.b))
    return make_error(ErrorCode::kInternal, "Platt fit did not converge to finite parameters");
  return m;
}

Result<Isotonic> fit_isotonic(const std::vector<Sample>& samples) {
  if (Status s = need_samples(samples); !s.ok()) return s;
  std::vector<std::size_t> order(samples.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t i, std::size_t j) { return samples[i].confidence < samples[j].confidence; });
  // Pool adjacent violators; equal confidences start in one block.
  struct Block {
    double x_lo, sum;
    double n;
  };
  std::vector<Block> blocks;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto& s = samples[order[k]];
    const double y = s.right ? 1.0 : 0.0;
    if (!blocks.empty() && k > 0 && samples[order[k - 1]].confidence == s.confidence) {
      blocks.back().sum += y;
      blocks.back().n += 1;
    } else {
      blocks.push_back({s.confidence, y, 1});
    }
    while (blocks.size() >= 2 &&
           blocks[blocks.size() - 2].sum / blocks[blocks.size() - 2].n >= blocks.back().sum / blocks.back().n) {
      const Block last = blocks.back();
      blocks.pop_back();
      blocks.back().sum += last.sum;
      blocks.back().n += last.n;
    }
  }
  Isotonic m;
  for (const auto& b : blocks) {
    m.x.push_back(b.x_lo);
    m.y.push_back(b.sum / b.n);
  }
  return m;
}

Result<CrossValidation> cross_validate(const std::vector<Sample>& samples, int folds) {
  if (folds < 2) return make_error(ErrorCode::kInvalidArgument, "cross-validation needs at least 2 folds");
  if (samples.size() < static_cast<std::size_t>(folds))
    return make_error(ErrorCode::kInvalidArgument, "cross-validation with " + std::to_string(folds) +
                                                       " folds needs at least " + std::to_string(folds) +
                                                       " samples, got " + std::to_string(samples.size()));
  std::vector<Sample> platt_oof(samples.size()), iso_oof(samples.size());
  for (int f = 0; f < folds; ++f) {
    std::vector<Sample> train;
    for (std::size_t i = 0; i < samples.size(); ++i)
      if (static_cast<int>(i % static_cast<std::size_t>(folds)) != f) train.push_back(samples[i]);
    auto platt = fit_platt(train);
    if (!platt.ok()) return platt.status();
    auto iso = fit_isotonic(train);
    if (!iso.ok()) return iso.status();
    for (std::size_t i = static_cast<std::size_t>(f); i < samples.size(); i += static_cast<std::size_t>(folds)) {
      platt_oof[i] = {platt->apply(samples[i].confidence), samples[i].right};
      iso_oof[i] = {iso->apply(samples[i].confidence), samples[i].right};
    }
  }
  CrossValidation cv;
  cv.folds = folds;
  cv.platt = {log_loss(platt_oof), reliability(platt_oof)};
  cv.isotonic = {log_loss(iso_oof), reliability(iso_oof)};
  cv.raw = {log_loss(samples), reliability(samples)};
  cv.chosen = cv.isotonic.log_loss < cv.platt.log_loss ? Method::kIsotonic : Method::kPlatt;
  cv.out_of_fold = cv.chosen == Method::kPlatt ? std::move(platt_oof) : std::move(iso_oof);
  return cv;
}

}  // namespace ladder::calibration
