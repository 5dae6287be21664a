// The input a task's local model and escalation packet read: the request's input, or for
// a task with `reduce:` the deterministic reduction of it (src/preprocess).
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ladder/config.h"
#include "ladder/decision.h"

namespace ladder {

// nullopt when the task does not reduce its input. `input` is valid UTF-8 (checked at
// the router's door).
std::optional<InputReduction> reduce_task_input(const TaskConfig& task, std::string_view input);

// Tells the frontier that packet["input"] is a reduction, and of how much.
void describe_reduction(nlohmann::json& packet, const InputReduction& reduction);

}  // namespace ladder
