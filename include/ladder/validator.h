// One validator per file under src/validators/, listed in one registry table.
#pragma once

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

// What validators read and (for parse) fill in. Built by the router per local answer.
struct ValidationContext {
  const Config* config = nullptr;
  const TaskConfig* task = nullptr;
  std::string_view input;                        // what the local model read (reduced when the task reduces)
  std::string_view original_input;               // the request's input (equal to input when not reduced)
  const GenerationResult* generation = nullptr;  // the local tier's raw answer
  const nlohmann::json* schema = nullptr;        // schema the answer must match
  const HardStopScanner* scanner = nullptr;

  // Filled by the "parse" validator; later validators skip when it is empty.
  std::optional<nlohmann::json> answer;
  // route_macro: the macro chosen and its arguments with defaults applied.
  const MacroConfig* macro = nullptr;
  // Measured confidence of the decisive value (label, macro id), from token logprobs.
  std::optional<double> confidence;
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
