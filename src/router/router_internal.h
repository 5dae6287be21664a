// What the router's source files (router.cpp, route_steps.cpp, escalation.cpp) share.
#pragma once

#include <chrono>

#include "ladder/config.h"

namespace ladder {

// Milliseconds since a steady-clock time point: how the router times stages and calls.
inline double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// A tier's request budget: its first configured model's request_timeout_ms (30 s when none).
inline std::chrono::milliseconds request_timeout(const Config& config, const TierConfig& tier) {
  for (const auto& name : tier.models) {
    auto it = config.models.find(name);
    if (it != config.models.end()) return std::chrono::milliseconds(it->second.request_timeout_ms);
  }
  return std::chrono::milliseconds(30000);
}

}  // namespace ladder
