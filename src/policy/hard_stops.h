// Hard-stop scan: one compiled RE2::Set per category (security, access, production).
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "ladder/config.h"
#include "ladder/decision.h"
#include "ladder/status.h"

namespace ladder {

class HardStopScanner {
 public:
  // kConfigInvalid when a pattern does not compile (message names the rule id).
  static Result<std::unique_ptr<HardStopScanner>> create(const HardStopConfig& config);
  ~HardStopScanner();

  // First match in priority order security > access > production; `where` is copied
  // into the match ("input", "answer", "args"). Matching is case-insensitive.
  std::optional<HardStopMatch> scan(std::string_view text, std::string_view where) const;
  // Every matching rule, same order.
  std::vector<HardStopMatch> scan_all(std::string_view text, std::string_view where) const;

 private:
  struct Impl;
  explicit HardStopScanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

Reason hard_stop_reason(std::string_view category);  // "security" → kHardStopSecurity ...

}  // namespace ladder
