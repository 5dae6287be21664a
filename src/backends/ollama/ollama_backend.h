// Ollama's native API. Chat: POST {base_url}/api/chat with `format` (the JSON Schema),
// stream false, keep_alive, options {temperature, num_predict}, and logprobs /
// top_logprobs (newer Ollama answers with a `logprobs` array; parsed when present).
// Raw completion (request.prompt with no messages): POST {base_url}/api/generate with
// raw true. generate_stream(): stream true; NDJSON lines with message.content (chat) or
// response (generate) as deltas until one with done true (done_reason, eval counts);
// {"error": "..."} in the stream is kUpstreamError, a stream without its done line
// kConnectionReset; retries only before the first delta. Usage from prompt_eval_count /
// eval_count. generate_async(): either form on an event loop (http::generate_exchange_async),
// the same reading of the answer, retries waited out on timers. health(): GET
// {base_url}/api/tags.
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
Result<std::unique_ptr<Backend>> make_ollama_backend(const ModelConfig& model, SleepFn sleep = {});

// What generate() (answer.stream false) or generate_stream() make of an upstream's
// answer, without the network (fuzz/backend_replies.cpp). `backend` must come from
// make_ollama_backend (kInternal otherwise).
Result<GenerationResult> replay_ollama_answer(const Backend& backend, const http::ReplayedAnswer& answer,
                                              const DeltaFn& on_delta);
}  // namespace ladder
