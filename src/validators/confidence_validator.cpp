// "confidence": the measured probability of the decisive value (classify: the label;
// route_macro: the macro id; generate: a low quantile, checks.confidence_quantile, of the
// answer's token probabilities) must reach the task's min_confidence. Measured from token
// logprobs, never read from the answer.
#include <algorithm>
#include <cstdio>
#include <string>

#include "validators/confidence.h"
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "confidence";

std::string format_probability(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", p);
  return buf;
}

// The key whose value decides the answer, or empty when the task kind has none.
std::string_view decisive_key(const TaskConfig& task) {
  switch (task.kind) {
    case TaskKind::kClassify:
      return "label";
    case TaskKind::kRouteMacro:
      return "macro";
    default:
      return {};
  }
}

// The value the calibration's thresholds are keyed by: a classify answer's label, else "".
std::string decisive_value(const ValidationContext& ctx) {
  if (ctx.task->kind != TaskKind::kClassify || !ctx.answer || !ctx.answer->is_object()) return {};
  auto it = ctx.answer->find("label");
  return it != ctx.answer->end() && it->is_string() ? it->get<std::string>() : std::string();
}

class ConfidenceValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override { return ctx.answer.has_value() && ctx.task != nullptr; }

  ValidatorResult validate(ValidationContext& ctx) const override {
    const TaskConfig& task = *ctx.task;
    if (!ctx.confidence && ctx.generation) {
      const std::string_view key = decisive_key(task);
      if (!key.empty()) ctx.confidence = json_value_confidence(*ctx.generation, key);
      if (task.kind == TaskKind::kGenerate)
        ctx.confidence = token_probability_quantile(*ctx.generation, task.checks.confidence_quantile);
    }
    const double threshold = task.min_confidence;
    if (!ctx.confidence) {
      if (threshold <= 0.0) return validator_pass(kName, "no confidence measured; task sets no threshold");
      const bool no_logprobs = !ctx.generation || !ctx.generation->has_logprobs || ctx.generation->tokens.empty();
      std::string detail = no_logprobs ? "confidence could not be measured: logprobs were unavailable"
                                       : "confidence could not be measured from the token logprobs";
      detail += " (min_confidence " + format_probability(threshold) + ")";
      return validator_fail(kName, Reason::kConfidenceLow, std::move(detail));
    }
    double threshold_used = threshold;
    std::string calibrated_note;
    if (ctx.calibration && ctx.calibration->map) {
      const FittedCalibration& fit = ctx.calibration->for_answer(ctx.corroborated);
      ctx.measured_confidence = *ctx.confidence;
      ctx.confidence = fit.map(*ctx.confidence);
      calibrated_note =
          " (measured " + format_probability(*ctx.measured_confidence) + ", " + fit.method + "-calibrated" +
          (ctx.calibration->corroborated ? (ctx.corroborated ? " as corroborated" : " as uncorroborated") : "") + ")";
      if (!fit.thresholds.empty()) {
        const std::string value = decisive_value(ctx);
        auto it = fit.thresholds.find(value);
        if (it == fit.thresholds.end())
          return validator_fail(kName, Reason::kConfidenceLow,
                                "the calibration has no safe threshold for " +
                                    (value.empty() ? std::string("this task") : "label '" + value + "'") +
                                    calibrated_note);
        threshold_used = std::max(threshold, it->second);
      }
    }
    const double measured = *ctx.confidence;
    if (measured < threshold_used)
      return validator_fail(kName, Reason::kConfidenceLow,
                            "confidence " + format_probability(measured) + " < " +
                                (threshold_used > threshold ? "calibrated threshold " : "min_confidence ") +
                                format_probability(threshold_used) + calibrated_note);
    return validator_pass(kName, "confidence " + format_probability(measured) + calibrated_note);
  }
};

}  // namespace

std::unique_ptr<Validator> make_confidence_validator() { return std::make_unique<ConfidenceValidator>(); }

}  // namespace ladder
