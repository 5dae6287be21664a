#include "policy/hard_stops.h"

#include <algorithm>
#include <array>
#include <string>

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

struct HardStopScanner::Impl {
  struct Category {
    std::string name;
    std::vector<HardStopRule> rules;
    std::vector<std::unique_ptr<RE2>> regexes;  // same order as rules
    std::unique_ptr<RE2::Set> set;              // null when the category has no rules
  };
  std::array<Category, 3> categories;  // priority order

  // Rule indices of `category` that match `text`, in rule order.
  std::vector<int> matching(const Category& category, std::string_view text) const {
    std::vector<int> hits;
    if (!category.set) return hits;
    RE2::Set::ErrorInfo error{};
    if (!category.set->Match(re2::StringPiece(text.data(), text.size()), &hits, &error)) {
      hits.clear();
      if (error.kind != RE2::Set::kNoError) {
        // The set could not decide (DFA out of memory): fall back to rule by rule, so a
        // degraded scan still catches everything.
        for (std::size_t i = 0; i < category.regexes.size(); ++i) {
          if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *category.regexes[i])) {
            hits.push_back(static_cast<int>(i));
          }
        }
      }
    }
    std::sort(hits.begin(), hits.end());
    return hits;
  }

  HardStopMatch make_match(const Category& category, int index, std::string_view text, std::string_view where) const {
    HardStopMatch match;
    match.category = category.name;
    match.rule_id = category.rules[static_cast<std::size_t>(index)].id;
    match.where = std::string(where);
    re2::StringPiece input(text.data(), text.size());
    re2::StringPiece found;
    const RE2& re = *category.regexes[static_cast<std::size_t>(index)];
    if (re.Match(input, 0, input.size(), RE2::UNANCHORED, &found, 1)) {
      match.matched = std::string(found.data(), found.size());
    }
    return match;
  }
};

HardStopScanner::HardStopScanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HardStopScanner::~HardStopScanner() = default;

Result<std::unique_ptr<HardStopScanner>> HardStopScanner::create(const HardStopConfig& config) {
  auto impl = std::make_unique<Impl>();
  const std::array<std::pair<const char*, const std::vector<HardStopRule>*>, 3> sources = {{
      {"security", &config.security},
      {"access", &config.access},
      {"production", &config.production},
  }};
  for (std::size_t c = 0; c < sources.size(); ++c) {
    auto& category = impl->categories[c];
    category.name = sources[c].first;
    category.rules = *sources[c].second;
    if (category.rules.empty()) continue;
    category.set = std::make_unique<RE2::Set>(rule_options(), RE2::UNANCHORED);
    for (const auto& rule : category.rules) {
      auto re = std::make_unique<RE2>(rule.pattern, rule_options());
      if (!re->ok()) {
        return make_error(ErrorCode::kConfigInvalid, "hard_stops." + category.name + ": rule \"" + rule.id +
                                                         "\" does not compile: " + re->error());
      }
      std::string error;
      if (category.set->Add(re2::StringPiece(rule.pattern), &error) < 0) {
        return make_error(ErrorCode::kConfigInvalid,
                          "hard_stops." + category.name + ": rule \"" + rule.id + "\" does not compile: " + error);
      }
      category.regexes.push_back(std::move(re));
    }
    if (!category.set->Compile()) {
      return make_error(ErrorCode::kConfigInvalid, "hard_stops." + category.name + ": the rule set does not compile");
    }
  }
  return std::unique_ptr<HardStopScanner>(new HardStopScanner(std::move(impl)));
}

std::optional<HardStopMatch> HardStopScanner::scan(std::string_view text, std::string_view where) const {
  for (const auto& category : impl_->categories) {
    auto hits = impl_->matching(category, text);
    if (!hits.empty()) return impl_->make_match(category, hits.front(), text, where);
  }
  return std::nullopt;
}

std::vector<HardStopMatch> HardStopScanner::scan_all(std::string_view text, std::string_view where) const {
  std::vector<HardStopMatch> out;
  for (const auto& category : impl_->categories) {
    for (int index : impl_->matching(category, text)) {
      out.push_back(impl_->make_match(category, index, text, where));
    }
  }
  return out;
}

Reason hard_stop_reason(std::string_view category) {
  if (category == "access") return Reason::kHardStopAccess;
  if (category == "production") return Reason::kHardStopProduction;
  // "security", and anything unknown: the strictest reading.
  return Reason::kHardStopSecurity;
}

}  // namespace ladder
