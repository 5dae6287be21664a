// Any OpenAI-compatible server: llama-server, vLLM, LM Studio, OpenAI itself.
// Chat: POST {base_url}/v1/chat/completions (a base_url ending in /v1 is not doubled)
// with response_format json_schema (strict) when the request has a schema, llama-server's
// `grammar` when it has a GBNF grammar, and logprobs/top_logprobs when wanted.
// Raw completion (request.prompt with no messages): POST {base_url}/v1/completions with
// llama-server's `json_schema` / `grammar` and `logprobs` (top-n count).
// generate_stream(): the same requests with stream true and stream_options
// {include_usage: true}; Server-Sent Events `data: {chunk}` until `data: [DONE]`, text
// from choices[0].delta.content (chat) or choices[0].text (completions), logprobs,
// finish_reason and usage (the choice-less last chunk) as they come. An in-band
// `data: {"error": ...}` is kUpstreamError (kRateLimited for a rate limit); a stream that
// ends without [DONE] is kConnectionReset; retries only before the first delta.
// Authorization: Bearer <value of the variable named by api_key_env>, when set.
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
Result<std::unique_ptr<Backend>> make_openai_backend(const ModelConfig& model, SleepFn sleep = {});

// What generate() (answer.stream false) or generate_stream() make of an upstream's
// answer, without the network (fuzz/backend_replies.cpp). `backend` must come from
// make_openai_backend (kInternal otherwise).
Result<GenerationResult> replay_openai_answer(const Backend& backend, const http::ReplayedAnswer& answer,
                                              const DeltaFn& on_delta);
}  // namespace ladder
