#include "ladder/reason.h"

#include <array>
#include <utility>

namespace ladder {
namespace {
constexpr std::array<std::pair<Reason, std::string_view>, 13> kNames = {{
    {Reason::kUnknownTask, "unknown_task"},
    {Reason::kPolicyRequiresFrontier, "policy_requires_frontier"},
    {Reason::kInputTooLarge, "input_too_large"},
    {Reason::kSchemaInvalid, "schema_invalid"},
    {Reason::kConfidenceLow, "confidence_low"},
    {Reason::kLabelEscalates, "label_escalates"},
    {Reason::kNoMacroMatch, "no_macro_match"},
    {Reason::kArgsUngrounded, "args_ungrounded"},
    {Reason::kHardStopSecurity, "hard_stop_security"},
    {Reason::kHardStopAccess, "hard_stop_access"},
    {Reason::kHardStopProduction, "hard_stop_production"},
    {Reason::kLocalUnavailable, "local_unavailable"},
    {Reason::kManualOverride, "manual_override"},
}};
}  // namespace

std::string_view reason_name(Reason reason) {
  for (const auto& [r, n] : kNames)
    if (r == reason) return n;
  return "unknown_task";
}

std::optional<Reason> reason_from_name(std::string_view name) {
  for (const auto& [r, n] : kNames)
    if (n == name) return r;
  return std::nullopt;
}

}  // namespace ladder
