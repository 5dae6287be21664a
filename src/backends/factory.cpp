#include "backends/factory.h"

#include "backends/anthropic/anthropic_backend.h"
#include "backends/ollama/ollama_backend.h"
#include "backends/openai/openai_backend.h"

#ifdef LADDER_HAVE_EMBEDDED_BACKEND
#include "backends/embedded/embedded_backend.h"
#endif

namespace ladder {

Result<std::unique_ptr<Backend>> make_backend(const ModelConfig& model) {
  if (model.backend == "embedded") {
#ifdef LADDER_HAVE_EMBEDDED_BACKEND
    return make_embedded_backend(model);
#else
    return make_error(ErrorCode::kUnavailable, "models." + model.name + ": built without embedded backend");
#endif
  }
  if (model.backend == "openai") return make_openai_backend(model);
  if (model.backend == "ollama") return make_ollama_backend(model);
  if (model.backend == "anthropic") return make_anthropic_backend(model);
  return make_error(ErrorCode::kConfigInvalid, "models." + model.name + ".backend: unknown backend '" + model.backend +
                                                   "' (expected embedded, openai, ollama or anthropic)");
}

}  // namespace ladder
