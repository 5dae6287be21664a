// "labels": a classify answer's label must be one of the task's labels.
#include <algorithm>

#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "labels";

class LabelsValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override {
    return ctx.answer.has_value() && ctx.task && ctx.task->kind == TaskKind::kClassify;
  }

  ValidatorResult validate(ValidationContext& ctx) const override {
    auto label = ctx.answer->find("label");
    if (label == ctx.answer->end() || !label->is_string())
      return validator_fail(kName, Reason::kSchemaInvalid, "answer has no string \"label\"");
    const auto value = label->get<std::string>();
    const auto& allowed = ctx.task->labels;
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
      return validator_fail(kName, Reason::kSchemaInvalid,
                            "label " + short_json(*label) + " is not one of the task's labels");
    return validator_pass(kName);
  }
};

}  // namespace

std::unique_ptr<Validator> make_labels_validator() { return std::make_unique<LabelsValidator>(); }

}  // namespace ladder
