// Private to src/config: the policy keys of model rotation (`rotation:`) and controlled
// replay (`audit.replay:`), docs/store.md. Every error names its YAML path.
#pragma once

#include "config/yaml_reader.h"
#include "ladder/config.h"

namespace ladder::config_detail {

// audit.replay: {key_env: NAME}; NAME must look like an environment variable name.
void parse_replay(Reader& r, const At& at, AuditConfig& audit);

// rotation: {candidate: MODEL, tasks: [..], sample: 0..1}. Reads config.models, tiers and
// tasks, so it runs after them.
void parse_rotation(Reader& r, const At& at, Config& config);

}  // namespace ladder::config_detail
