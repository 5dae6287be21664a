// A list of RE2 rules (id + pattern) compiled once into one RE2::Set, matched
// case-insensitively. Hard stops keep one per category, classify evidence one per label.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ladder/config.h"
#include "ladder/status.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace ladder {

class RuleSet {
 public:
  // kConfigInvalid when a pattern does not compile; the message is "<where>: rule "<id>" ...".
  static Result<std::unique_ptr<RuleSet>> create(const std::vector<HardStopRule>& rules, const std::string& where);
  ~RuleSet();

  const std::vector<HardStopRule>& rules() const { return rules_; }
  // Indices of the rules that match `text`, in rule order. When the set cannot decide (its
  // DFA ran out of memory) each rule is tried alone, so a degraded scan misses nothing.
  std::vector<int> matching(std::string_view text) const;
  // The text rule `index` matched first ("" when it does not match).
  std::string matched_text(int index, std::string_view text) const;

 private:
  struct Impl;
  explicit RuleSet(std::unique_ptr<Impl> impl, std::vector<HardStopRule> rules);
  std::unique_ptr<Impl> impl_;
  std::vector<HardStopRule> rules_;
};

}  // namespace ladder
