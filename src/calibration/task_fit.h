// One task's calibration from its answers: Platt and isotonic fitted and k-fold
// cross-validated, the method with the lower out-of-fold log-loss kept, per label the
// lowest out-of-fold threshold with no wrong answer above it; and, for a task whose
// evidence rules corroborate some answers, a mapping of their own. Pure.
#pragma once

#include <string>
#include <vector>

#include "calibration/calibration_file.h"
#include "ladder/status.h"

namespace ladder::calibration {

struct TaskAnswer {
  Sample sample;              // measured confidence, and whether the answer was right
  std::string label;          // the answer's label ("" for tasks without labels)
  bool corroborated = false;  // the input's evidence supported this label and no other
};

// With `by_evidence`, corroborated answers (at least `folds` of them) get their own
// mapping in `corroborated`, and the main mapping is fitted on the other answers when
// there are at least `folds` of those, else on all. Needs at least `folds` answers.
Result<TaskCalibration> fit_task(const std::vector<TaskAnswer>& answers, int folds, bool by_evidence);

// Removes the per-label thresholds (the corroborated mapping's too): the policy's
// min_confidence is then the only bar.
void drop_label_thresholds(TaskCalibration& t);

}  // namespace ladder::calibration
