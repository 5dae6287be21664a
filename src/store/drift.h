// Argument drift: per macro argument, the distribution of extracted values in time windows,
// each window scored against a reference window by Jensen-Shannon divergence (docs/store.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/record_store.h"

namespace ladder::store {

struct DriftOptions {
  std::int64_t window_seconds = 86400;  // windows aligned to the epoch (UTC days by default)
  bool against_previous = false;        // reference: the first window (false) or the previous one
  double threshold = 0.1;               // JSD (base 2, 0..1) above which a window is flagged
  std::int64_t min_count = 10;          // windows with fewer values are scored, never flagged
  int numeric_bins = 10;                // equal-width bins over the argument's observed range
};

struct DriftWindow {
  std::string start;  // RFC 3339 UTC start of the window
  std::int64_t count = 0;
  std::map<std::string, std::int64_t> counts;  // value (or bin "[lo,hi)") -> occurrences
  std::optional<double> score;                 // absent for the reference window itself
  bool flagged = false;
};

struct ArgumentDrift {
  std::string macro;
  std::string argument;
  bool numeric = false;              // every present value a number: binned; otherwise categorical
  std::vector<DriftWindow> windows;  // oldest first, only windows with decisions of the macro
  double max_score = 0;
  bool flagged = false;
};

// Pure. Decisions without a macro are skipped; an argument missing from a decision of its
// macro counts as the value "<absent>".
std::vector<ArgumentDrift> compute_drift(const std::vector<StoredDecision>& decisions,
                                         const DriftOptions& options = {});
nlohmann::json drift_json(const std::vector<ArgumentDrift>& drift);

// Jensen-Shannon divergence (base 2) of two count maps, add-0.5 smoothing over their union.
double jensen_shannon(const std::map<std::string, std::int64_t>& p, const std::map<std::string, std::int64_t>& q);

}  // namespace ladder::store
