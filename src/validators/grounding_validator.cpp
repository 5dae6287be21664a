// "grounding": every free string and integer argument of a route_macro / extract answer
// must come from the input (or equal its schema default).
#include <string>

#include "validators/grounding.h"
#include "validators/json_schema.h"
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "grounding";

class GroundingValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override { return has_arguments(ctx); }

  ValidatorResult validate(ValidationContext& ctx) const override {
    ArgumentView view = argument_view(ctx);
    const nlohmann::json args = apply_schema_defaults(*view.schema, *view.object);
    const auto ungrounded = ungrounded_arguments(args, *view.schema, ctx.input);
    if (ungrounded.empty()) return validator_pass(kName);
    std::string detail = "not found in the input:";
    for (const auto& name : ungrounded) {
      detail.push_back(' ');
      detail += name;
      auto value = args.find(name);  // top-level names only; nested ones are just named
      if (value == args.end()) continue;
      detail.push_back('=');
      detail += short_json(*value, 40);
    }
    return validator_fail(kName, Reason::kArgsUngrounded, std::move(detail));
  }
};

}  // namespace

std::unique_ptr<Validator> make_grounding_validator() { return std::make_unique<GroundingValidator>(); }

}  // namespace ladder
