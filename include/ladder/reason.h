// The stable escalation-reason vocabulary (shared/eval/README.md).
#pragma once

#include <optional>
#include <string_view>

namespace ladder {

enum class Reason {
  kUnknownTask,
  kPolicyRequiresFrontier,
  kInputTooLarge,
  kSchemaInvalid,
  kConfidenceLow,
  kLabelEscalates,
  kNoMacroMatch,
  kArgsUngrounded,
  kHardStopSecurity,
  kHardStopAccess,
  kHardStopProduction,
  kLocalUnavailable,
  kManualOverride,
};

std::string_view reason_name(Reason reason);
std::optional<Reason> reason_from_name(std::string_view name);

}  // namespace ladder
