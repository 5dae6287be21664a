#pragma once

#include <string>

#include "ladder/config.h"

namespace ladder {
// Human-readable summary of a valid policy for `ladder policy check`: tiers and their
// models, each task (local or frontier-only, labels, thresholds), hard-stop rule counts,
// capability rules, kill switch and shadow flags, macros.
std::string explain_policy(const Config& config);
}  // namespace ladder
