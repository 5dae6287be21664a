// The calibration file written by `ladder calibrate` and read back for one model: per
// local model, keyed by the model file's sha256, per task the fitted mapping from
// measured token probability to calibrated confidence, the out-of-fold figures and the
// per-label thresholds, and for tasks with evidence rules a second mapping for the answers
// the evidence corroborated. JSON at this edge only; typed structs inside.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "calibration/fit.h"
#include "ladder/status.h"

namespace ladder::calibration {

inline constexpr const char* kFileFormat = "ladder-calibration-1";

struct TaskCalibration {
  Method method = Method::kPlatt;
  Platt platt;
  Isotonic isotonic;
  int folds = 0;
  std::size_t samples = 0;
  double oof_ece = 0.0, oof_brier = 0.0, oof_log_loss = 0.0;
  double raw_ece = 0.0;
  // Per label: the lowest calibrated-confidence threshold with 0 false accepts out of fold
  // (labels without one are absent: nothing of that label is safe to accept).
  std::map<std::string, double> label_thresholds;
  // A classify task with `evidence:` rules: the mapping fitted on the answers whose label
  // the evidence corroborated (the evidence validator passed); the fields above are then
  // fitted on the other answers. Null when the task was fitted as one population.
  std::shared_ptr<const TaskCalibration> corroborated;
  double apply(double measured) const {
    return method == Method::kPlatt ? platt.apply(measured) : isotonic.apply(measured);
  }
};

struct ModelCalibration {
  std::string model_sha256;
  std::string model_file;  // file name when fitted, informative only
  std::map<std::string, TaskCalibration> tasks;
};

// Lower-case hex sha256 of a file's bytes.
Result<std::string> file_sha256(const std::string& path);

// The whole file for one model (more models: merge with add_model).
std::string to_json_text(const ModelCalibration& model);

// Parses a calibration file and returns the entry for `model_sha256`. A malformed file
// is kParseError; a file without that model's entry is kConfigInvalid naming the hashes
// it holds: another model's calibration is never used.
Result<ModelCalibration> parse_calibration(std::string_view text, const std::string& source,
                                           const std::string& model_sha256);

}  // namespace ladder::calibration
