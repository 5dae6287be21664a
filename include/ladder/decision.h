// What the router decided about one request, and why. The audit writer, the CLI and
// the eval report all read this one type.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/reason.h"
#include "ladder/status.h"

namespace ladder {

enum class HardStopCategory;

struct HardStopMatch {
  std::string category;  // "security" | "access" | "production"
  std::string rule_id;
  std::string where;    // "input" | "answer" | "args"
  std::string matched;  // the matched text (redacted before it is stored)
};

struct ValidatorResult {
  std::string validator;  // "parse", "json_schema", "labels", "escalate_labels",
                          // "confidence", "grounding", "hard_stop_answer", ...
  bool passed = true;
  std::optional<Reason> reason;  // set when !passed
  std::string detail;
};

// Why a model of a tier was not called at all.
enum class AttemptSkip { kNone, kNotBuilt, kMarkedDown };

struct TierAttempt {
  int tier = 0;
  std::string tier_name;
  std::string model_name;  // key under models:
  std::string backend;     // embedded | openai | ollama | anthropic
  std::string model;       // model id/version the backend reported
  bool ok = false;
  AttemptSkip skipped = AttemptSkip::kNone;
  // When !ok: the typed failure (code, the backend's full message for the audit and the
  // log, the upstream's retry-after). Clients see public_attempt_error() instead.
  Status error;
  double latency_ms = 0.0;
  int attempts = 0;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_prompt_tokens = 0;
};

// One local tier's outcome on a request: accepted (no reason) or why not.
struct LocalTry {
  int tier = 0;
  std::string tier_name;
  std::optional<Reason> reason;
  std::optional<double> confidence;
  std::string label;
  std::string macro;
};

struct StageTiming {
  std::string stage;  // "gates", "hard_stop_scan", "local", "validate", "frontier", ...
  double ms = 0.0;
};

// A task with `reduce:` reads its input reduced (src/preprocess): what the local model and
// the escalation packet saw, and how much of the original that is.
struct InputReduction {
  std::string text;  // the reduced input
  std::size_t original_bytes = 0;
  std::size_t original_lines = 0;
  std::size_t kept_lines = 0;
  std::size_t decisive_lines = 0;
  int tokens = 0;  // estimated tokens of text
};

// Model rotation (Config::rotation): the candidate model's shadow run on the same input,
// checked by the same validators and calibration as the live local tier. It never
// changes the decision; the audit record keeps it as `candidate`.
struct CandidateResult {
  std::string model;   // key under models:
  std::string sha256;  // the model file's sha256 (embedded models), else empty
  // Set when the candidate gave no answer to judge (down, timed out, not built, unparseable
  // output): then the record keeps only {model, error}.
  std::string error;
  std::string label;          // classify
  std::string answer_sha256;  // of its answer text
  std::optional<double> confidence;
  bool would_accept = false;     // its answer passed every check the live one must pass
  std::optional<Reason> reason;  // why not, when it would not accept
  double latency_ms = 0.0;       // its first model call
};

struct Decision {
  std::string request_id;
  std::string task;
  std::string route;             // "local" | "frontier"
  std::optional<Reason> reason;  // set whenever route == "frontier"
  std::string reason_detail;
  // Privacy pinned the request to the local tier (options.privacy under the policy's
  // privacy_forces_local): an escalation is refused instead of sent up.
  bool local_only = false;
  // Under privacy, the rule that would have sent the request up and was overridden.
  std::optional<Reason> kept_local_reason;
  bool frontier_ok = false;  // the escalated call got an answer
  Status frontier_error;     // the last escalation failure; ok when none
  // The escalation failed after part of its answer had been streamed to the caller.
  bool frontier_mid_stream = false;
  // The caller stopped reading a streamed escalation (a client gone): the answer was not
  // delivered whole. Audited as delivered: false, cancelled_by_client: true.
  bool stream_cancelled = false;
  bool escalation_skipped = false;  // RouterOptions::skip_escalation_calls: decided, not called

  std::string answer_text;        // final answer given to the caller
  nlohmann::json answer;          // parsed final answer (null when not JSON)
  std::string local_answer_text;  // what the local tier said, if it ran
  std::optional<nlohmann::json> local_answer;
  bool local_ran = false;
  bool local_json_valid = false;  // parsed and matched its schema

  std::string label;                          // classify
  std::string macro;                          // route_macro ("" when none)
  nlohmann::json args;                        // route_macro, defaults applied
  std::optional<double> confidence;           // calibrated when the model has a calibration file
  std::optional<double> measured_confidence;  // from token logprobs, before that calibration

  std::vector<ValidatorResult> validators;
  std::optional<HardStopMatch> hard_stop;
  std::vector<TierAttempt> tiers;
  std::vector<LocalTry> local_tries;  // each local tier asked, in order
  int local_tier = -1;                // the last local tier asked (-1: none)
  std::vector<StageTiming> stages;
  double total_ms = 0.0;
  bool shadow = false;
  std::optional<std::string> shadow_route;   // shadow mode: what the router would have done
  std::optional<InputReduction> reduction;   // set when the task reduces its input
  std::optional<CandidateResult> candidate;  // set when rotation shadowed this request
};

}  // namespace ladder
