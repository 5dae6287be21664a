// Evidence for classify labels: per label, RE2 rules that mark what a log of that kind
// shows (a compiler diagnostic, a failed-test summary, a resolver conflict, a lost
// runner). The "evidence" validator accepts a local label only when the input shows
// evidence for it and for no other label; the router settles a request before the local
// model when the evidence rules out every label.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ladder/config.h"
#include "ladder/status.h"
#include "policy/rule_set.h"

namespace ladder {

// Label → ids of its rules that matched, in rule order; labels with none are absent.
using EvidenceHits = std::map<std::string, std::vector<std::string>>;

// "build (diag-code, lint), test (assertion)"
std::string describe_evidence(const EvidenceHits& hits);

// The hits that decide a label, by the task's evidence weights: a label whose matched
// rules are all weak yields to a label with other evidence, then a label that a matched
// rule of another remaining label outranks yields to it. When yielding would leave no
// label (rules outranking each other), the hits stay as they were.
EvidenceHits deciding_evidence(const TaskConfig& task, const EvidenceHits& hits);

class EvidenceScanner {
 public:
  // kConfigInvalid when a pattern does not compile (message names the task, label and rule).
  static Result<std::unique_ptr<EvidenceScanner>> create(const TaskConfig& task);

  EvidenceHits scan(std::string_view text) const;

 private:
  EvidenceScanner() = default;
  std::map<std::string, std::unique_ptr<RuleSet>> labels_;
};

}  // namespace ladder
