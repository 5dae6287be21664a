// llama.cpp in-process: model loaded once and kept warm, JSON-Schema-constrained decoding
// through llama.cpp grammars, token probabilities renormalised over what the grammar
// allows, KV-cache prefix reuse across requests that share a prompt prefix.
#pragma once

#include <memory>

#include "ladder/backend.h"
#include "ladder/config.h"

namespace ladder {
Result<std::unique_ptr<Backend>> make_embedded_backend(const ModelConfig& model);
}  // namespace ladder
