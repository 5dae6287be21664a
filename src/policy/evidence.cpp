#include "policy/evidence.h"

#include <set>

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

namespace {

const EvidenceWeight* weight_of(const TaskConfig& task, const std::string& id) {
  auto it = task.evidence_weights.find(id);
  return it == task.evidence_weights.end() ? nullptr : &it->second;
}

}  // namespace

EvidenceHits deciding_evidence(const TaskConfig& task, const EvidenceHits& hits) {
  if (task.evidence_weights.empty() || hits.size() < 2) return hits;
  auto all_weak = [&](const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      const EvidenceWeight* w = weight_of(task, id);
      if (!w || !w->weak) return false;
    }
    return true;
  };
  EvidenceHits strong;
  for (const auto& [label, ids] : hits)
    if (!all_weak(ids)) strong.emplace(label, ids);
  EvidenceHits kept = strong.empty() ? hits : strong;
  std::set<std::string> outranked;
  for (const auto& [label, ids] : kept) {
    for (const auto& id : ids)
      if (const EvidenceWeight* w = weight_of(task, id)) outranked.insert(w->outranks.begin(), w->outranks.end());
  }
  EvidenceHits deciding;
  for (const auto& [label, ids] : kept)
    if (!outranked.count(label)) deciding.emplace(label, ids);
  return deciding.empty() ? kept : deciding;
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
