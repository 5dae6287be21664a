#include "policy/evidence.h"

namespace ladder {

Result<std::unique_ptr<EvidenceScanner>> EvidenceScanner::create(const TaskConfig& task) {
  std::unique_ptr<EvidenceScanner> scanner(new EvidenceScanner());
  for (const auto& [label, rules] : task.evidence) {
    auto set = RuleSet::create(rules, "tasks." + task.name + ".evidence." + label);
    if (!set.ok()) return set.status();
    scanner->labels_.emplace(label, std::move(set).value());
  }
  return scanner;
}

std::string describe_evidence(const EvidenceHits& hits) {
  std::string out;
  for (const auto& [label, ids] : hits) {
    if (!out.empty()) out += ", ";
    out += label + " (";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + ids[i];
    out += ")";
  }
  return out;
}

EvidenceHits EvidenceScanner::scan(std::string_view text) const {
  EvidenceHits out;
  for (const auto& [label, set] : labels_) {
    auto hits = set->matching(text);
    if (hits.empty()) continue;
    auto& ids = out[label];
    for (int i : hits) ids.push_back(set->rules()[static_cast<std::size_t>(i)].id);
  }
  return out;
}

}  // namespace ladder
