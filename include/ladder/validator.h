// One validator per file under src/validators/, listed in one registry table.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/backend.h"
#include "ladder/config.h"
#include "ladder/decision.h"

namespace ladder {

class HardStopScanner;
class EvidenceScanner;

// A mapping fitted by `ladder calibrate` for one task on the local model that answered:
// measured confidence → calibrated confidence, and per decisive value (the label of a
// classify task, "" for other kinds) the lowest calibrated confidence that had no false
// accept out of fold. A value absent from a non-empty map never had a safe threshold.
struct FittedCalibration {
  std::function<double(double)> map;
  std::map<std::string, double> thresholds;
  std::string method;  // "platt" | "isotonic"
  // Fitted on the answers whose label the task's evidence corroborated, used for those
  // (ValidationContext::corroborated); the fields above then serve the other answers.
  std::shared_ptr<const FittedCalibration> corroborated;
  const FittedCalibration& for_answer(bool label_corroborated) const {
    return label_corroborated && corroborated ? *corroborated : *this;
  }
};

// What validators read and (for parse) fill in. Built by the router per local answer.
struct ValidationContext {
  const Config* config = nullptr;
  const TaskConfig* task = nullptr;
  std::string_view input;                        // what the local model read (reduced when the task reduces)
  std::string_view original_input;               // the request's input (equal to input when not reduced)
  const GenerationResult* generation = nullptr;  // the local tier's raw answer
  const nlohmann::json* schema = nullptr;        // schema the answer must match
  const HardStopScanner* scanner = nullptr;
  const EvidenceScanner* evidence = nullptr;  // classify tasks with `evidence:` rules
  // Set by the evidence validator (which runs before confidence) when the input shows
  // evidence for the answer's label and for no other: the calibration's corroborated
  // mapping then applies.
  bool corroborated = false;

  // Filled by the "parse" validator; later validators skip when it is empty.
  std::optional<nlohmann::json> answer;
  // route_macro: the macro chosen and its arguments with defaults applied.
  const MacroConfig* macro = nullptr;
  // Measured confidence of the decisive value (label, macro id), from token logprobs.
  std::optional<double> confidence;
  // Set when the policy gives the model a calibration file: the confidence validator maps
  // `confidence` through it (keeping the measured value in measured_confidence) and
  // applies its per-value thresholds beside the task's min_confidence.
  const FittedCalibration* calibration = nullptr;
  std::optional<double> measured_confidence;
  // Filled by the hard-stop validator when it fires.
  std::optional<HardStopMatch> hard_stop;
};

class Validator {
 public:
  virtual ~Validator() = default;
  virtual std::string_view name() const = 0;
  // Should this validator run for the task? (e.g. labels only for classify)
  virtual bool applies(const ValidationContext& ctx) const = 0;
  virtual ValidatorResult validate(ValidationContext& ctx) const = 0;
};

}  // namespace ladder
