#include "router/fitted_calibration.h"

#include <filesystem>

#include "calibration/calibration_file.h"
#include "config/yaml_reader.h"

namespace ladder {
namespace {

FittedCalibration fitted(const calibration::TaskCalibration& fit) {
  FittedCalibration f;
  f.map = [fit](double measured) { return fit.apply(measured); };
  f.thresholds = fit.label_thresholds;
  f.method = calibration::method_name(fit.method);
  return f;
}

}  // namespace

Result<FittedCalibrations> load_fitted_calibrations(const Config& config) {
  FittedCalibrations out;
  for (const auto& [name, model] : config.models) {
    // A model file that is not there leaves its backend unavailable (create() goes on
    // without it): it gives no answer to calibrate.
    if (model.calibration_file.empty() || !std::filesystem::exists(model.model_path)) continue;
    const std::string& model_name = name;  // a structured binding cannot be captured before C++20 in clang 14
    auto fail = [&model_name](const Status& s) { return s.with_message("model '" + model_name + "': " + s.message()); };
    auto text = config_detail::read_config_file(model.calibration_file);
    if (!text.ok()) return fail(text.status());
    auto sha = calibration::file_sha256(model.model_path);
    if (!sha.ok()) return fail(sha.status());
    auto parsed = calibration::parse_calibration(*text, model.calibration_file, *sha);
    if (!parsed.ok()) return fail(parsed.status());
    auto& tasks = out[name];
    for (const auto& [task, fit] : parsed->tasks) {
      FittedCalibration f = fitted(fit);
      if (fit.corroborated) f.corroborated = std::make_shared<const FittedCalibration>(fitted(*fit.corroborated));
      tasks[task] = std::move(f);
    }
  }
  return out;
}

}  // namespace ladder
