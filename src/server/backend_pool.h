// Backends shared across policy reloads: a reload builds a new Router, and a model whose
// configuration did not change keeps its backend (the embedded model is not loaded
// again, its KV cache stays warm). Used as RouterOptions::backend_factory.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ladder/backend.h"
#include "ladder/config.h"

namespace ladder::server {

class BackendPool {
 public:
  // A backend for `model`: the live one built for an identical configuration, or a new one.
  Result<std::unique_ptr<Backend>> get(const ModelConfig& model);
  // Backends built so far (not counting reuse); for tests and logs.
  int built() const;

 private:
  mutable std::mutex mu_;                               // guards live_, built_
  std::map<std::string, std::weak_ptr<Backend>> live_;  // fingerprint → backend
  int built_ = 0;
};

// Every field of a model entry, as one string: equal strings, same backend.
std::string model_fingerprint(const ModelConfig& model);

}  // namespace ladder::server
