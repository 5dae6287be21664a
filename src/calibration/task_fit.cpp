#include "calibration/task_fit.h"

#include <map>
#include <memory>

namespace ladder::calibration {
namespace {

Result<TaskCalibration> fit_population(const std::vector<TaskAnswer>& answers, int folds) {
  std::vector<Sample> samples;
  for (const auto& a : answers) samples.push_back(a.sample);
  auto cv = cross_validate(samples, folds);
  if (!cv.ok()) return cv.status();
  auto platt = fit_platt(samples);
  if (!platt.ok()) return platt.status();
  auto iso = fit_isotonic(samples);
  if (!iso.ok()) return iso.status();
  TaskCalibration t;
  t.method = cv->chosen;
  t.platt = *platt;
  t.isotonic = *iso;
  t.folds = cv->folds;
  t.samples = samples.size();
  const auto& chosen = cv->chosen == Method::kPlatt ? cv->platt : cv->isotonic;
  t.oof_ece = chosen.reliability.ece;
  t.oof_brier = chosen.reliability.brier;
  t.oof_log_loss = chosen.log_loss;
  t.raw_ece = cv->raw.reliability.ece;
  std::map<std::string, std::vector<Sample>> by_label;
  for (std::size_t i = 0; i < answers.size(); ++i) by_label[answers[i].label].push_back(cv->out_of_fold[i]);
  for (const auto& [label, s] : by_label)
    if (auto th = zero_false_accept_threshold(s)) t.label_thresholds[label] = *th;
  return t;
}

}  // namespace

Result<TaskCalibration> fit_task(const std::vector<TaskAnswer>& answers, int folds, bool by_evidence) {
  if (!by_evidence) return fit_population(answers, folds);
  std::vector<TaskAnswer> corroborated, other;
  for (const auto& a : answers) (a.corroborated ? corroborated : other).push_back(a);
  const auto enough = [folds](const std::vector<TaskAnswer>& v) { return v.size() >= static_cast<std::size_t>(folds); };
  auto main = fit_population(enough(other) ? other : answers, folds);
  if (!main.ok() || !enough(corroborated)) return main;
  auto own = fit_population(corroborated, folds);
  if (!own.ok()) return own.status();
  main->corroborated = std::make_shared<const TaskCalibration>(std::move(own).value());
  return main;
}

void drop_label_thresholds(TaskCalibration& t) {
  t.label_thresholds.clear();
  if (!t.corroborated) return;
  auto own = std::make_shared<TaskCalibration>(*t.corroborated);
  own->label_thresholds.clear();
  t.corroborated = std::move(own);
}

}  // namespace ladder::calibration
