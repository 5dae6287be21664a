// The calibration files the policy gives its embedded models (`calibration_file:`, written
// by `ladder calibrate`), loaded for the router: each file's entry must carry the sha256 of
// the model file it is configured beside, so a model never uses another's calibration.
#pragma once

#include <map>
#include <string>

#include "ladder/config.h"
#include "ladder/status.h"
#include "ladder/validator.h"

namespace ladder {

// By model name, then task name. Models without calibration_file are absent. A missing,
// malformed or foreign file is an error naming the model (kConfigInvalid, kParseError,
// kNotFound).
using FittedCalibrations = std::map<std::string, std::map<std::string, FittedCalibration>>;
Result<FittedCalibrations> load_fitted_calibrations(const Config& config);

}  // namespace ladder
