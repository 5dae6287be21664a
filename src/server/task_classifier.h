// The task of a `model: "ladder/auto"` request that names none: a keyword classifier over
// the policy's own words. Each task's vocabulary is the words of its name, description
// and labels (weight 2) and of its examples' inputs (weight 1); the input's distinct
// words are scored against each. The best task wins when it scores at least
// kMinTaskScore and beats the runner-up; otherwise "" (the router then escalates with
// unknown_task). Pure and deterministic.
#pragma once

#include <string>
#include <string_view>

#include "ladder/config.h"

namespace ladder::server {

inline constexpr int kMinTaskScore = 2;

std::string classify_task(const Config& config, std::string_view input);

}  // namespace ladder::server
