// "hard_stop_answer": a hard stop in the local answer overrides whatever it says. Scans
// the answer text with the policy's hard-stop rules (when the task asks for it), and for
// route_macro checks the chosen macro's irreversible_when values against the args.
#include <string>

#include "policy/hard_stops.h"
#include "validators/json_schema.h"
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "hard_stop_answer";

bool wants_text_scan(const ValidationContext& ctx) {
  return ctx.task && ctx.task->scan_answer && ctx.scanner && ctx.generation;
}

bool wants_irreversible_check(const ValidationContext& ctx) {
  return ctx.task && ctx.task->kind == TaskKind::kRouteMacro && ctx.macro && ctx.macro->irreversible_when.is_object() &&
         !ctx.macro->irreversible_when.empty();
}

std::string scalar_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : short_json(v, 40); }

class HardStopAnswerValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override {
    return ctx.answer.has_value() && (wants_text_scan(ctx) || wants_irreversible_check(ctx));
  }

  ValidatorResult validate(ValidationContext& ctx) const override {
    if (wants_text_scan(ctx)) {
      if (auto match = ctx.scanner->scan(ctx.generation->text, "answer")) {
        const Reason reason = hard_stop_reason(match->category);
        std::string detail = match->category + " rule " + match->rule_id + " matched in the answer";
        ctx.hard_stop = std::move(*match);
        return validator_fail(kName, reason, std::move(detail));
      }
    }
    if (wants_irreversible_check(ctx)) {
      ArgumentView view = argument_view(ctx);
      if (view.object && view.object->is_object()) {
        const nlohmann::json args = apply_schema_defaults(ctx.macro->input_schema, *view.object);
        for (auto it = ctx.macro->irreversible_when.begin(); it != ctx.macro->irreversible_when.end(); ++it) {
          auto value = args.find(it.key());
          if (value == args.end() || *value != it.value()) continue;
          HardStopMatch match;
          match.category = "production";
          match.rule_id = "irreversible:" + ctx.macro->id + "." + it.key();
          match.where = "args";
          match.matched = it.key() + "=" + scalar_text(*value);
          std::string detail = ctx.macro->id + " with " + match.matched + " is irreversible";
          ctx.hard_stop = std::move(match);
          return validator_fail(kName, Reason::kHardStopProduction, std::move(detail));
        }
      }
    }
    return validator_pass(kName);
  }
};

}  // namespace

std::unique_ptr<Validator> make_hard_stop_answer_validator() { return std::make_unique<HardStopAnswerValidator>(); }

}  // namespace ladder
