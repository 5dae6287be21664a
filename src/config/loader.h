// YAML policy → validated, immutable Config. Every error names the file, the YAML path
// and the line ("policy.yaml:12: tasks.classify_issue.min_confidence: ...").
#pragma once

#include <string>
#include <string_view>

#include "ladder/config.h"
#include "ladder/status.h"

namespace ladder {

// Reads and validates a policy file. Relative paths inside it (model files, audit files)
// are resolved against the file's folder. Errors: kNotFound (no file), kParseError
// (malformed YAML), kConfigInvalid (unknown key, wrong type, failed rule).
Result<ConfigPtr> load_policy_file(const std::string& path);

// Same, from text. `source_name` prefixes error messages; `base_dir` resolves paths.
Result<ConfigPtr> load_policy_yaml(std::string_view yaml, const std::string& source_name, const std::string& base_dir);

// The JSON Schema a classify task's answer must match: {"label": <one of labels>}.
nlohmann::json classify_output_schema(const std::vector<std::string>& labels);

}  // namespace ladder
