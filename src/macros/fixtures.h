// Validation fixtures: replay a macro's recorded runs (arguments, upstream exchanges,
// classify results) with no model and no network, and compare what happens with what
// was recorded. Also records new fixtures from live runs.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/config.h"
#include "macros/native.h"
#include "macros/runner.h"

namespace ladder::macros {

struct FixtureReport {
  std::string macro;
  std::string fixture;
  std::string source;
  bool passed = false;
  std::vector<std::string> mismatches;
  RunOutcome outcome;
};

// Replays every fixture of the macros named (all when `ids` is empty). A named id that
// is not loaded gives one failed report.
std::vector<FixtureReport> replay_fixtures(const Config& config, const NativeRegistry& natives,
                                           const std::vector<std::string>& ids);

// Compares an outcome with a fixture's `expect` ({status, result?, error?: {step, reason},
// writes?: [{method, url, body?}]}); returns the differences.
std::vector<std::string> compare_expectation(const nlohmann::json& expect, const RunOutcome& outcome,
                                             const nlohmann::json& writes);

// A fixture (as written by `ladder macro record`) from a live run's recording.
nlohmann::json fixture_json(const std::string& name, const nlohmann::json& args, bool approve, const std::string& now,
                            const nlohmann::json& exchanges, const nlohmann::json& classify, const RunOutcome& outcome);

}  // namespace ladder::macros
