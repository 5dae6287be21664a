// llama.cpp in-process: model loaded once and kept warm, JSON-Schema-constrained decoding
// through llama.cpp grammars, token probabilities renormalised over what the grammar
// allows, KV-cache prefix reuse across requests that share a prompt prefix.
//
// Thread safety: generate() and generate_stream() may be called from any thread; a mutex
// per backend lets one request at a time use the llama.cpp context (callers wanting
// parallelism create more backends). generate_stream() emits each decoded token's text
// (never splitting a UTF-8 character across deltas) while holding that mutex: on_delta
// must not call into the same backend. Its inter_token_timeout is kTimeout. Decoding is greedy: temperature is ignored.
// Errors: missing model file kNotFound, no llama.cpp CPU backend (llama_runtime.h) or load failure kUnavailable, prompt
// over the context kPayloadTooLarge, bad grammar or schema kInvalidArgument, deadline kTimeout, decode failure
// kInternal.
#pragma once

#include <memory>

#include "ladder/backend.h"
#include "ladder/config.h"

namespace ladder {
Result<std::unique_ptr<Backend>> make_embedded_backend(const ModelConfig& model);
}  // namespace ladder
