// "evidence": a classify label stays local only when the input shows evidence for it (the
// task's `evidence:` rules) and for no other label: evidence for a label that escalates (a
// lost runner beside a compiler error) or for a second label (an error inside a
// dependency's source beside a compiler diagnostic) leaves the case to a larger model.
#include "policy/evidence.h"
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "evidence";

// "build (diag-code, lint), test (assertion)"
std::string describe(const std::map<std::string, std::vector<std::string>>& hits) {
  std::string out;
  for (const auto& [label, ids] : hits) {
    if (!out.empty()) out += ", ";
    out += label + " (";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + ids[i];
    out += ")";
  }
  return out;
}

class EvidenceValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override {
    if (!ctx.answer || !ctx.task || ctx.task->kind != TaskKind::kClassify || !ctx.evidence) return false;
    auto label = ctx.answer->find("label");
    // A label that escalates is the escalate_labels validator's to report.
    return label != ctx.answer->end() && label->is_string() && !label_escalates(*ctx.task, label->get<std::string>());
  }

  ValidatorResult validate(ValidationContext& ctx) const override {
    const auto label = ctx.answer->at("label").get<std::string>();
    const auto hits = ctx.evidence->scan(ctx.original_input.empty() ? ctx.input : ctx.original_input);
    for (const auto& [other, ids] : hits) {
      if (label_escalates(*ctx.task, other))
        return validator_fail(kName, Reason::kLabelEscalates,
                              "the input shows evidence for " + other + ", which escalates: " + describe(hits));
    }
    auto own = hits.find(label);
    if (own == hits.end())
      return validator_fail(kName, Reason::kConfidenceLow,
                            "no evidence in the input for label " + label +
                                (hits.empty() ? std::string(" (none for any label)") : "; it shows " + describe(hits)));
    if (hits.size() > 1)
      return validator_fail(kName, Reason::kConfidenceLow,
                            "the input shows evidence for other labels too: " + describe(hits));
    return validator_pass(kName, "evidence: " + describe(hits));
  }
};

}  // namespace

std::unique_ptr<Validator> make_evidence_validator() { return std::make_unique<EvidenceValidator>(); }

}  // namespace ladder
