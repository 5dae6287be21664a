// "escalate_labels": some labels (security, access, unknown) never stay local.
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "escalate_labels";

class EscalateLabelsValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override {
    if (!ctx.answer || !ctx.task || ctx.task->kind != TaskKind::kClassify) return false;
    auto label = ctx.answer->find("label");
    return label != ctx.answer->end() && label->is_string();
  }

  ValidatorResult validate(ValidationContext& ctx) const override {
    if (label_escalates(*ctx.task, ctx.answer->at("label").get<std::string>()))
      return validator_fail(kName, Reason::kLabelEscalates,
                            "label " + short_json(ctx.answer->at("label")) + " always escalates");
    return validator_pass(kName);
  }
};

}  // namespace

std::unique_ptr<Validator> make_escalate_labels_validator() { return std::make_unique<EscalateLabelsValidator>(); }

}  // namespace ladder
