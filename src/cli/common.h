// Pieces every subcommand shares: load a policy, read input, build a router.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "ladder/config.h"
#include "ladder/status.h"
#include "macros/runner.h"
#include "router/router.h"
#include "store/record_store.h"

namespace ladder::cli {

inline constexpr std::size_t kMaxInputBytes = 16 * 1024 * 1024;

// Reads a file, or standard input for "-". kNotFound, kPayloadTooLarge past max_bytes.
Result<std::string> read_input(const std::string& path, std::size_t max_bytes = kMaxInputBytes);

// Loads the policy and builds a router whose audit goes to `audit_path` (the policy's
// audit.jsonl when empty; "ladder-audit.jsonl" in the working folder when neither says).
Result<std::unique_ptr<Router>> open_router(const std::string& policy_path, const std::string& audit_path,
                                            RouterOptions options = {});

// The audit file a router opened from this policy writes to (the same rule as
// open_router), for records written beside the router's (macro runs).
std::string audit_path_for(const Config& config, const std::string& audit_path);

// The policy and the decision store its store: section names (kInvalidArgument when the
// policy keeps the JSONL log only).
struct PolicyStore {
  ConfigPtr config;
  std::unique_ptr<store::RecordStore> store;
};
Result<PolicyStore> open_policy_store(const std::string& policy_path);

// Classify steps of macros call the router: {label, route, reason, confidence,
// decision_id}; the label is the accepted local one or the frontier's answer, null when
// an escalation went unanswered.
macros::ClassifyFn classify_with(Router& router);

// Prints "error: <name>: <message>" to stderr and returns the exit code for it
// (2 for bad input or config, 3 for unavailable backends, 1 otherwise).
int report_error(const Status& status);

// --since DURATION of the commands that read the store (stats, rotate report): sets
// filter.since_ts to now minus it; unset leaves the filter alone. A value that is not a
// duration (an empty one too) is kInvalidArgument naming --since.
Status apply_since(const std::optional<std::string>& since, store::DecisionFilter& filter);

}  // namespace ladder::cli
