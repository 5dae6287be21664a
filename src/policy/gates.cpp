#include "policy/gates.h"

namespace ladder {
namespace {

// Code points, counted as bytes that do not continue a UTF-8 sequence. Invalid input is
// rejected before the gates; on stray bytes this still gives a sane upper bound.
std::size_t count_chars(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

int estimate_tokens(std::string_view text) { return static_cast<int>((text.size() + 3) / 4); }

GateDecision evaluate_gates(const Config& config, const TaskConfig* task, std::string_view input,
                            const RequestOptions& options) {
  GateDecision d;
  d.local_only = options.privacy && config.capabilities.privacy_forces_local;

  // Escalation, unless privacy pins the request to tier 0: then the reason is reported
  // but the request stays local.
  auto escalate = [&](Reason reason, std::string detail) {
    d.reason = reason;
    d.go_local = d.local_only;
    d.detail = d.local_only ? std::move(detail) + "; privacy keeps it on the local tier" : std::move(detail);
    return d;
  };

  if (task == nullptr) {
    // Nothing can run locally without a task definition, privacy or not.
    d.reason = Reason::kUnknownTask;
    d.go_local = false;
    d.detail = "the task is not defined in the policy";
    if (d.local_only) d.detail += "; privacy forbids sending it beyond the local tier";
    return d;
  }
  if (config.kill_switch) {
    return escalate(Reason::kManualOverride, "the kill switch sends every task to the frontier");
  }
  if (options.force_frontier) {
    return escalate(Reason::kManualOverride, "the caller asked for the frontier");
  }
  if (!task->local_allowed) {
    return escalate(Reason::kPolicyRequiresFrontier, "task " + task->name + " is not allowed to run locally");
  }
  std::size_t chars = count_chars(input);
  if (chars > static_cast<std::size_t>(task->max_input_chars)) {
    return escalate(Reason::kInputTooLarge, "input has " + std::to_string(chars) +
                                                " characters, over max_input_chars " +
                                                std::to_string(task->max_input_chars));
  }
  int tokens = estimate_tokens(input);
  if (tokens > config.capabilities.max_context_tokens) {
    return escalate(Reason::kInputTooLarge, "input is about " + std::to_string(tokens) +
                                                " tokens, over max_context_tokens " +
                                                std::to_string(config.capabilities.max_context_tokens));
  }
  if (options.tool_chain_length > config.capabilities.max_tool_chain) {
    return escalate(Reason::kPolicyRequiresFrontier, "tool chain of " + std::to_string(options.tool_chain_length) +
                                                         " steps is longer than max_tool_chain " +
                                                         std::to_string(config.capabilities.max_tool_chain));
  }
  if (d.local_only) d.detail = "privacy keeps this request on the local tier";
  return d;
}

}  // namespace ladder
