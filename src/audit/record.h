// One audit record per decision.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ladder/config.h"
#include "ladder/decision.h"
#include "ladder/status.h"

namespace ladder::audit {
struct SealKey;
}

namespace ladder {

// Fields: ts, request_id, task, route, reason, reason_detail, tiers (tried, with model
// and version, latency, tokens, error), validators, hard_stop, confidence, stages (ms),
// total_ms, tokens {prompt, completion}, input_sha256, local_answer_sha256,
// answer_sha256, preview (redacted, at most cfg.preview_chars characters), label, macro,
// shadow fields. The raw prompt is stored only when cfg.store_raw_prompt.
// `extra` (an object: the client's name, the request's user and metadata, ...) is merged
// in before the strings are scrubbed, like every other field.
// `candidate` (model rotation): {model, sha256, label, answer_sha256, confidence,
// would_accept, reason, latency_ms}, or {model, error} when the candidate gave no answer.
// With `replay_key` (audit.replay) the raw input is sealed into `sealed_input` after the
// scrubbing, so the sealed blob is the one place the raw input lives.
nlohmann::json make_audit_record(const Decision& decision, std::string_view input, const AuditConfig& cfg,
                                 std::string_view raw_prompt = {}, const nlohmann::json& extra = {},
                                 const audit::SealKey* replay_key = nullptr);

// One call on a named model with no policy around it (the server's pass-through).
struct PassThroughCall {
  std::string request_id;
  std::string model_name;  // key under models:
  double latency_ms = 0.0;
  Status outcome;     // ok, or the failure
  std::string model;  // as the backend reported it (ok only)
  int prompt_tokens = 0;
  int completion_tokens = 0;
};
// Its record: route "pass_through", ts, request_id, model_name, ok, latency_ms, model and
// tokens or error; `extra` merged in; every string scrubbed as in make_audit_record.
nlohmann::json make_pass_through_record(const PassThroughCall& call, const nlohmann::json& extra = {});

// A request refused before any work because its client is over one of its limits (the
// server's per-key requests per minute, tokens per minute, spend per day).
struct RefusedRequest {
  std::string request_id;
  std::string endpoint;   // the path it came to: "/v1/chat/completions", ...
  std::string reason;     // one stable word: "rate_limited"
  std::string limit;      // which limit refused it: "requests_per_minute", ...
  int retry_after_s = 0;  // the Retry-After the client got
  std::string message;    // ladder's words to the client
};
// Its record: route "rejected", ts, request_id, endpoint, ok (false), reason, limit,
// retry_after_s, error; `extra` merged in; every string scrubbed as in make_audit_record.
nlohmann::json make_refused_record(const RefusedRequest& refused, const nlohmann::json& extra = {});

// Each local tier the request was put to: [{tier, tier_name, accepted, reason?,
// confidence?, label?, macro?}], for the audit record and the decision JSON alike.
nlohmann::json local_tries_json(const Decision& d);
// Adds measured_confidence, local_only, kept_local_reason, local_tries and local_tier
// (each when it applies) to a record or decision object.
void add_local_tier_fields(const Decision& d, nlohmann::json& out);

}  // namespace ladder
