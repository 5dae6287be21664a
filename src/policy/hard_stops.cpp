#include "policy/hard_stops.h"

#include <algorithm>
#include <array>
#include <string>

#include "policy/rule_set.h"

namespace ladder {

struct HardStopScanner::Impl {
  struct Category {
    std::string name;
    std::unique_ptr<RuleSet> rules;
  };
  std::array<Category, 3> categories;  // priority order

  HardStopMatch make_match(const Category& category, int index, std::string_view text, std::string_view where) const {
    HardStopMatch match;
    match.category = category.name;
    match.rule_id = category.rules->rules()[static_cast<std::size_t>(index)].id;
    match.where = std::string(where);
    match.matched = category.rules->matched_text(index, text);
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
    auto rules = RuleSet::create(*sources[c].second, "hard_stops." + category.name);
    if (!rules.ok()) return rules.status();
    category.rules = std::move(rules).value();
  }
  return std::unique_ptr<HardStopScanner>(new HardStopScanner(std::move(impl)));
}

std::optional<HardStopMatch> HardStopScanner::scan(std::string_view text, std::string_view where) const {
  for (const auto& category : impl_->categories) {
    auto hits = category.rules->matching(text);
    if (!hits.empty()) return impl_->make_match(category, hits.front(), text, where);
  }
  return std::nullopt;
}

std::vector<HardStopMatch> HardStopScanner::scan_all(std::string_view text, std::string_view where) const {
  std::vector<HardStopMatch> out;
  for (const auto& category : impl_->categories) {
    for (int index : category.rules->matching(text)) {
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
