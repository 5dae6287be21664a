// "json_schema": the parsed answer must match the task's schema; for route_macro answers
// that carry {"macro", "args"}, the args must also match the chosen macro's input schema.
#include "validators/json_schema.h"
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "json_schema";

class JsonSchemaValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override {
    return ctx.answer.has_value() && (ctx.schema != nullptr || ctx.macro != nullptr);
  }

  ValidatorResult validate(ValidationContext& ctx) const override {
    if (ctx.schema) {
      if (Status s = validate_json_schema(*ctx.schema, *ctx.answer); !s.ok())
        return validator_fail(kName, Reason::kSchemaInvalid, s.message());
    }
    ArgumentView args = argument_view(ctx);
    if (args.object && args.object != &*ctx.answer && args.schema) {
      if (Status s = validate_json_schema(*args.schema, *args.object); !s.ok())
        return validator_fail(kName, Reason::kSchemaInvalid, "args of " + ctx.macro->id + ": " + s.message());
    }
    return validator_pass(kName);
  }
};

}  // namespace

std::unique_ptr<Validator> make_json_schema_validator() { return std::make_unique<JsonSchemaValidator>(); }

}  // namespace ladder
