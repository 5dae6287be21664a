// "evidence": a classify label stays local only when the input shows evidence for it (the
// task's `evidence:` rules) and for no other label: evidence for a label that escalates (a
// lost runner beside a compiler error) or for a second label (a failed-test summary beside
// a compiler diagnostic) leaves the case to a larger model. Weak rules (a tool's name) and
// rules that outrank a label (a compiler error inside a dependency's source) weigh as the
// task's evidence weights say (deciding_evidence).
#include "validators/evidence.h"

#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "evidence";

// The hits, and those the weights set aside: "dependency (dep-native-package); outweighed:
// build (build-diag-code)".
std::string describe(const EvidenceHits& hits, const EvidenceHits& deciding) {
  if (deciding.size() == hits.size()) return describe_evidence(hits);
  EvidenceHits yielded;
  for (const auto& [label, ids] : hits)
    if (!deciding.count(label)) yielded.emplace(label, ids);
  return describe_evidence(deciding) + "; outweighed: " + describe_evidence(yielded);
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
    if (auto ruled = evidence_rules_out_every_label(*ctx.task, hits)) return *ruled;
    const auto deciding = deciding_evidence(*ctx.task, hits);
    if (deciding.find(label) == deciding.end())
      return validator_fail(kName, Reason::kConfidenceLow,
                            "no evidence in the input for label " + label + "; it shows " + describe(hits, deciding));
    ctx.corroborated = true;
    return validator_pass(kName, "evidence: " + describe(hits, deciding));
  }
};

}  // namespace

std::optional<ValidatorResult> evidence_rules_out_every_label(const TaskConfig& task, const EvidenceHits& hits) {
  for (const auto& [label, ids] : hits) {
    if (label_escalates(task, label))
      return validator_fail(kName, Reason::kLabelEscalates,
                            "the input shows evidence for " + label + ", which escalates: " + describe_evidence(hits));
  }
  if (hits.empty()) return validator_fail(kName, Reason::kConfidenceLow, "no evidence in the input for any label");
  const auto deciding = deciding_evidence(task, hits);
  if (deciding.size() > 1)
    return validator_fail(kName, Reason::kConfidenceLow,
                          "the input shows evidence for more than one label: " + describe(hits, deciding));
  return std::nullopt;
}

bool evidence_corroborates(const Decision& d) {
  for (const auto& v : d.validators)
    if (v.validator == kName && v.passed) return true;
  return false;
}

std::unique_ptr<Validator> make_evidence_validator() { return std::make_unique<EvidenceValidator>(); }

}  // namespace ladder
