#include "validators/validators.h"

#include <algorithm>

#include "validators/json_schema.h"

namespace ladder {

bool has_arguments(const ValidationContext& ctx) {
  if (!ctx.answer || !ctx.task) return false;
  if (ctx.task->kind != TaskKind::kRouteMacro && ctx.task->kind != TaskKind::kExtract) return false;
  ArgumentView view = argument_view(ctx);
  return view.object != nullptr && view.schema != nullptr;
}

bool is_generate_answer(const ValidationContext& ctx) {
  return ctx.answer && ctx.task && ctx.task->kind == TaskKind::kGenerate;
}

namespace {
void collect_strings(const nlohmann::json& value, const std::string& path,
                     std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_string()) {
    out.emplace_back(path, value.get<std::string>());
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) collect_strings(value[i], path + "[" + std::to_string(i) + "]", out);
  } else if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it)
      collect_strings(it.value(), path.empty() ? it.key() : path + "." + it.key(), out);
  }
}
}  // namespace

std::vector<std::pair<std::string, std::string>> answer_strings(const nlohmann::json& value,
                                                                const std::vector<std::string>& skip) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!value.is_object()) {
    collect_strings(value, "", out);
    return out;
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (std::find(skip.begin(), skip.end(), it.key()) != skip.end()) continue;
    collect_strings(it.value(), it.key(), out);
  }
  return out;
}

ArgumentView argument_view(const ValidationContext& ctx) {
  ArgumentView view;
  if (!ctx.answer || !ctx.answer->is_object()) return view;
  const nlohmann::json& answer = *ctx.answer;
  if (ctx.task && ctx.task->kind == TaskKind::kRouteMacro && ctx.macro) {
    auto macro = answer.find("macro");
    auto args = answer.find("args");
    if (macro != answer.end() && macro->is_string() && args != answer.end()) {
      view.object = &*args;
      view.schema = &ctx.macro->input_schema;
      return view;
    }
  }
  view.object = &answer;
  view.schema = ctx.schema;
  return view;
}

ValidatorResult validator_pass(std::string_view name, std::string detail) {
  ValidatorResult r;
  r.validator = std::string(name);
  r.passed = true;
  r.detail = std::move(detail);
  return r;
}

ValidatorResult validator_fail(std::string_view name, Reason reason, std::string detail) {
  ValidatorResult r;
  r.validator = std::string(name);
  r.passed = false;
  r.reason = reason;
  r.detail = std::move(detail);
  return r;
}

bool label_escalates(const TaskConfig& task, const std::string& label) {
  return std::find(task.escalate_labels.begin(), task.escalate_labels.end(), label) != task.escalate_labels.end();
}

std::string short_json(const nlohmann::json& value, std::size_t max_chars) {
  std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > max_chars) {
    std::size_t cut = max_chars;
    // Do not cut a UTF-8 sequence in half.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    s += "...";
  }
  return s;
}

}  // namespace ladder
