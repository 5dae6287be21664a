// Policy and capability gates: pure decision logic, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ladder/config.h"
#include "ladder/reason.h"

namespace ladder {

struct RequestOptions {
  bool privacy = false;         // the input must not leave this machine
  int tool_chain_length = 0;    // steps of the agent's tool chain behind this request
  bool force_frontier = false;  // caller's manual override
};

struct GateDecision {
  bool go_local = true;          // false: skip the local tier, escalate at once
  bool local_only = false;       // privacy: never send this input beyond tier 0
  std::optional<Reason> reason;  // why it goes up (when !go_local)
  std::string detail;            // one sentence for the audit record
};

// Order: unknown task → kill switch / manual override (manual_override) → task not
// allowed local (policy_requires_frontier) → input over max_input_chars or estimated
// tokens over capabilities.max_context_tokens (input_too_large) → tool chain longer than
// capabilities.max_tool_chain (policy_requires_frontier). Privacy with
// privacy_forces_local sets local_only (and go_local stays true even when a later rule
// would escalate; the reason is still reported).
GateDecision evaluate_gates(const Config& config, const TaskConfig* task, std::string_view input,
                            const RequestOptions& options);

// Rough token estimate used by the context ceiling: bytes / 4, rounded up.
int estimate_tokens(std::string_view text);

}  // namespace ladder
