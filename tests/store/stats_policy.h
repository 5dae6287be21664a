// The policy of the stats and UI tests over stores with known content: two classify
// tasks, a local and a priced frontier model (tests/store/stats_test.cpp,
// tests/ui/ui_api_test.cpp).
#pragma once

#include <string>

namespace ladder::testing {

inline const std::string kStatsPolicy = R"(version: 1
models:
  small:
    backend: embedded
    path: models/small.gguf
  big:
    backend: openai
    base_url: http://127.0.0.1:9000/v1
    model: gpt-big
tiers:
  - name: local
    models: [small]
  - name: frontier
    models: [big]
tasks:
  triage:
    kind: classify
    labels: [build, other]
    min_confidence: 0.4
  review:
    kind: classify
    labels: [ok, bad]
    min_confidence: 0.4
costs:
  local_per_second: 0.01
  models:
    big: {prompt_per_million: 1000, completion_per_million: 2000}
)";

}  // namespace ladder::testing
