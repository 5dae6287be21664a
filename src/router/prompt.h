// Prompts for the local tier and escalation packets for the tiers above. Pure text
// building, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/config.h"

namespace ladder {

// The local prompt for a classify / extract / generate task. When the task's template
// contains {{input}} it is rendered as written ({{labels}}, {{examples}} substituted);
// otherwise the template is a header and the examples and the input follow it as
// "Input: ...\nOutput: <json>" blocks, ending with "Output:" for the model to continue
// (no trailing space: the answer's own first token carries it).
std::string render_task_prompt(const TaskConfig& task, std::string_view input);

// route_macro, step 1: choose a macro id (or "none").
std::string render_macro_choice_prompt(const TaskConfig& task, const std::vector<MacroConfig>& macros,
                                       std::string_view input);
// route_macro, step 2: the same prompt continued with the chosen id, asking for arguments.
std::string render_macro_args_prompt(const TaskConfig& task, const std::vector<MacroConfig>& macros,
                                     std::string_view input, std::string_view macro_id);

// Compact JSON for prompts: {"label": "build"} (space after ':' and ',').
std::string prompt_json(const nlohmann::json& value);

// The escalation packet sent to the next tier: task, what the task wants, the input, the
// local answer (if any) and the reason. Kept short: the input is cut to `max_input_chars`.
nlohmann::json escalation_packet(const TaskConfig* task, std::string_view task_name, std::string_view input,
                                 const std::string& local_answer, std::string_view reason, const nlohmann::json* schema,
                                 std::size_t max_input_chars = 8000);
std::string escalation_system_prompt();

}  // namespace ladder
