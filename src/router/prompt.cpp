#include "router/prompt.h"

#include "ladder/utf8.h"

namespace ladder {
namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

// One line of input as the model sees it: whitespace runs collapsed, so a log's layout
// does not push the answer away from its pattern.
std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string render_examples(const TaskConfig& task) {
  std::string out;
  for (const auto& ex : task.examples) {
    out += "Input: " + one_line(ex.input) + "\nOutput: " + prompt_json(ex.output) + "\n\n";
  }
  return out;
}

std::string macro_list(const std::vector<MacroConfig>& macros) {
  std::string out;
  for (const auto& m : macros) out += "- " + m.id + ": " + m.intent + "\n";
  out += "- none: anything else (questions, writing, investigations, code changes)\n";
  return out;
}

std::string header(const TaskConfig& task, const std::vector<MacroConfig>* macros) {
  std::string h = task.prompt;
  replace_all(h, "{{labels}}", join(task.labels, ", "));
  if (macros) replace_all(h, "{{macros}}", macro_list(*macros));
  return h;
}

}  // namespace

std::string prompt_json(const nlohmann::json& value) {
  if (value.is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : value.items()) {
      if (!first) out += ", ";
      first = false;
      out += nlohmann::json(k).dump() + ": " + prompt_json(v);
    }
    return out + "}";
  }
  if (value.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (i) out += ", ";
      out += prompt_json(value[i]);
    }
    return out + "]";
  }
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string render_task_prompt(const TaskConfig& task, std::string_view input) {
  std::string h = header(task, nullptr);
  if (h.find("{{input}}") != std::string::npos) {
    replace_all(h, "{{examples}}", render_examples(task));
    replace_all(h, "{{input}}", one_line(input));
    return h;
  }
  std::string out = h;
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += '\n';
  out += render_examples(task);
  out += "Input: " + one_line(input) + "\nOutput:";
  return out;
}

namespace {
// The shared part of both macro prompts: header, examples as request → macro → arguments.
std::string macro_prompt_base(const TaskConfig& task, const std::vector<MacroConfig>& macros) {
  std::string out = header(task, &macros);
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += '\n';
  for (const auto& ex : task.examples) {
    const std::string macro = ex.output.value("macro", "none");
    out += "Request: " + one_line(ex.input) + "\n";
    out += "Macro: " + prompt_json(nlohmann::json{{"macro", macro}}) + "\n";
    if (macro != "none" && ex.output.contains("args")) out += "Arguments: " + prompt_json(ex.output["args"]) + "\n";
    out += "\n";
  }
  return out;
}
}  // namespace

std::string render_macro_choice_prompt(const TaskConfig& task, const std::vector<MacroConfig>& macros,
                                       std::string_view input) {
  return macro_prompt_base(task, macros) + "Request: " + one_line(input) + "\nMacro:";
}

std::string render_macro_args_prompt(const TaskConfig& task, const std::vector<MacroConfig>& macros,
                                     std::string_view input, std::string_view macro_id) {
  return render_macro_choice_prompt(task, macros, input) + " " +
         prompt_json(nlohmann::json{{"macro", std::string(macro_id)}}) + "\nArguments:";
}

nlohmann::json escalation_packet(const TaskConfig* task, std::string_view task_name, std::string_view input,
                                 const std::string& local_answer, std::string_view reason, const nlohmann::json* schema,
                                 std::size_t max_input_chars) {
  std::string cut(input.substr(0, std::min(input.size(), max_input_chars)));
  // Never cut inside a UTF-8 sequence.
  while (!cut.empty() && !valid_utf8(cut)) cut.pop_back();
  nlohmann::json packet = {
      {"task", std::string(task_name)},
      {"reason", std::string(reason)},
      {"input", cut},
      {"input_truncated", cut.size() < input.size()},
  };
  if (task) {
    if (!task->description.empty()) packet["instructions"] = task->description;
    if (!task->labels.empty()) packet["labels"] = task->labels;
  }
  if (schema) packet["answer_schema"] = *schema;
  if (!local_answer.empty()) packet["local_answer"] = local_answer;
  return packet;
}

std::string escalation_system_prompt() {
  return "You are the escalation tier of ladder, a router. A smaller local model could not be "
         "trusted with this task for the stated reason. Do the task from the packet's input. "
         "When answer_schema is given, reply with one JSON object matching it and nothing else.";
}

}  // namespace ladder
