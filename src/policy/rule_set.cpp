#include "policy/rule_set.h"

#include <algorithm>

#include <re2/re2.h>
#include <re2/set.h>

namespace ladder {
namespace {

constexpr int64_t kRegexMemory = 64 << 20;  // DFA budget: big rule sets stay on the fast path

RE2::Options rule_options() {
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  options.set_max_mem(kRegexMemory);
  return options;
}

}  // namespace

struct RuleSet::Impl {
  std::vector<std::unique_ptr<RE2>> regexes;  // same order as the rules
  std::unique_ptr<RE2::Set> set;              // null when there are no rules
};

RuleSet::RuleSet(std::unique_ptr<Impl> impl, std::vector<HardStopRule> rules)
    : impl_(std::move(impl)), rules_(std::move(rules)) {}
RuleSet::~RuleSet() = default;

Result<std::unique_ptr<RuleSet>> RuleSet::create(const std::vector<HardStopRule>& rules, const std::string& where) {
  auto impl = std::make_unique<Impl>();
  if (!rules.empty()) {
    impl->set = std::make_unique<RE2::Set>(rule_options(), RE2::UNANCHORED);
    for (const auto& rule : rules) {
      auto re = std::make_unique<RE2>(rule.pattern, rule_options());
      if (!re->ok()) {
        return make_error(ErrorCode::kConfigInvalid,
                          where + ": rule \"" + rule.id + "\" does not compile: " + re->error());
      }
      std::string error;
      if (impl->set->Add(re2::StringPiece(rule.pattern), &error) < 0) {
        return make_error(ErrorCode::kConfigInvalid, where + ": rule \"" + rule.id + "\" does not compile: " + error);
      }
      impl->regexes.push_back(std::move(re));
    }
    if (!impl->set->Compile()) return make_error(ErrorCode::kConfigInvalid, where + ": the rule set does not compile");
  }
  return std::unique_ptr<RuleSet>(new RuleSet(std::move(impl), rules));
}

std::vector<int> RuleSet::matching(std::string_view text) const {
  std::vector<int> hits;
  if (!impl_->set) return hits;
  const re2::StringPiece input(text.data(), text.size());
  RE2::Set::ErrorInfo error{};
  if (!impl_->set->Match(input, &hits, &error)) {
    hits.clear();
    if (error.kind != RE2::Set::kNoError) {
      for (std::size_t i = 0; i < impl_->regexes.size(); ++i) {
        if (RE2::PartialMatch(input, *impl_->regexes[i])) hits.push_back(static_cast<int>(i));
      }
    }
  }
  std::sort(hits.begin(), hits.end());
  return hits;
}

std::string RuleSet::matched_text(int index, std::string_view text) const {
  const re2::StringPiece input(text.data(), text.size());
  re2::StringPiece found;
  const RE2& re = *impl_->regexes.at(static_cast<std::size_t>(index));
  if (re.Match(input, 0, input.size(), RE2::UNANCHORED, &found, 1)) return std::string(found.data(), found.size());
  return {};
}

}  // namespace ladder
