#include "validators/validators.h"

#include "validators/json_schema.h"

namespace ladder {

bool has_arguments(const ValidationContext& ctx) {
  if (!ctx.answer || !ctx.task) return false;
  if (ctx.task->kind != TaskKind::kRouteMacro && ctx.task->kind != TaskKind::kExtract) return false;
  ArgumentView view = argument_view(ctx);
  return view.object != nullptr && view.schema != nullptr;
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
