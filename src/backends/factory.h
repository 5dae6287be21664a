#pragma once

#include <memory>

#include "ladder/backend.h"
#include "ladder/config.h"

namespace ladder {
// Builds the backend a model entry names. The embedded backend loads its model here
// (once; it is kept warm). Errors: kNotFound (model file), kUnavailable, kConfigInvalid.
Result<std::unique_ptr<Backend>> make_backend(const ModelConfig& model);
}  // namespace ladder
