// "parse": the local answer text must be one JSON object; it becomes ctx.answer.
#include <exception>
#include <string>

#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "parse";

class ParseValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override { return ctx.generation != nullptr; }

  ValidatorResult validate(ValidationContext& ctx) const override {
    ctx.answer.reset();
    nlohmann::json parsed;
    try {
      parsed = nlohmann::json::parse(ctx.generation->text);
    } catch (const nlohmann::json::exception& e) {
      return validator_fail(kName, Reason::kSchemaInvalid, std::string("answer is not valid JSON: ") + e.what());
    }
    if (!parsed.is_object())
      return validator_fail(kName, Reason::kSchemaInvalid,
                            std::string("answer is JSON but not an object (") + parsed.type_name() + ")");
    ctx.answer = std::move(parsed);
    // route_macro: resolve the chosen macro when the router has not already.
    if (ctx.task && ctx.task->kind == TaskKind::kRouteMacro && !ctx.macro && ctx.config) {
      auto macro = ctx.answer->find("macro");
      if (macro != ctx.answer->end() && macro->is_string())
        ctx.macro = ctx.config->find_macro(macro->get<std::string>());
    }
    return validator_pass(kName);
  }
};

}  // namespace

std::unique_ptr<Validator> make_parse_validator() { return std::make_unique<ParseValidator>(); }

}  // namespace ladder
