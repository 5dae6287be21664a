// Anthropic Messages API: POST {base_url}/v1/messages with x-api-key (from the variable
// named by api_key_env) and anthropic-version headers; system messages go to the
// separate `system` field; max_tokens, temperature. The answer is the concatenated text
// blocks of `content`; usage.input_tokens / output_tokens; no logprobs. Errors in
// Anthropic's shape ({type:"error", error:{type, message}}) are carried into the message.
// generate_stream(): stream true; Server-Sent Events message_start (model, input usage),
// content_block_delta with text_delta (the deltas), message_delta (stop_reason, output
// usage), message_stop (the terminator; without it kConnectionReset). An `event: error`
// is a failure by its error type (overloaded/api -> kUpstreamError, rate limit ->
// kRateLimited, request errors -> kUpstreamRejected); retries only before the first delta.
// health(): GET {base_url}/v1/models.
#pragma once

#include <memory>

#include "backends/retry.h"
#include "ladder/backend.h"
#include "ladder/config.h"

namespace ladder {
namespace http {
struct ReplayedAnswer;
}

// `sleep` replaces the real sleep between retries (tests).
Result<std::unique_ptr<Backend>> make_anthropic_backend(const ModelConfig& model, SleepFn sleep = {});

// What generate() (answer.stream false) or generate_stream() make of an upstream's
// answer, without the network (fuzz/backend_replies.cpp). `backend` must come from
// make_anthropic_backend (kInternal otherwise).
Result<GenerationResult> replay_anthropic_answer(const Backend& backend, const http::ReplayedAnswer& answer,
                                                 const DeltaFn& on_delta);
}  // namespace ladder
