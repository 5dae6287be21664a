// "quotes_grounded": a generate answer's quoted fields (checks.grounded: error lines,
// files, packages) must occur in the input, the reduced or the original one, after
// normalisation (case, quotes, dashes, whitespace). A quote the input does not contain
// was made up: args_ungrounded.
#include <string>

#include "validators/grounding.h"
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "quotes_grounded";

class QuoteGroundingValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override {
    return is_generate_answer(ctx) && !ctx.task->checks.grounded.empty() && ctx.answer->is_object();
  }

  ValidatorResult validate(ValidationContext& ctx) const override {
    std::size_t checked = 0;
    std::string missing;
    for (const auto& field : ctx.task->checks.grounded) {
      auto it = ctx.answer->find(field);
      if (it == ctx.answer->end()) continue;
      for (const auto& [path, value] : answer_strings(nlohmann::json{{field, *it}})) {
        if (value.find_first_not_of(" \t\r\n") == std::string::npos) continue;
        ++checked;
        if (string_grounded(value, ctx.input) ||
            (!ctx.original_input.empty() && string_grounded(value, ctx.original_input)))
          continue;
        if (!missing.empty()) missing += ", ";
        missing += path + "=" + short_json(nlohmann::json(value), 60);
      }
    }
    if (!missing.empty()) return validator_fail(kName, Reason::kArgsUngrounded, "not found in the input: " + missing);
    return validator_pass(kName, std::to_string(checked) + " quoted values found in the input");
  }
};

}  // namespace

std::unique_ptr<Validator> make_quote_grounding_validator() { return std::make_unique<QuoteGroundingValidator>(); }

}  // namespace ladder
