// One macro per YAML file → validated, immutable MacroDefinition. Every error names the
// file, the line and the YAML path ("repo_triage_v1.yaml:14: steps[0].http.host: ...").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ladder/macro.h"
#include "ladder/status.h"

namespace ladder {

// Error states every macro may return without declaring them.
const std::vector<std::string>& macro_builtin_errors();

// Reads and validates a macro file. Fixture files it names are resolved next to it.
// Errors: kNotFound, kParseError (malformed YAML, invalid UTF-8), kConfigInvalid.
Result<MacroDefinitionPtr> load_macro_file(const std::string& path);
Result<MacroDefinitionPtr> load_macro_yaml(std::string_view yaml, const std::string& source_name,
                                           const std::string& base_dir);

// A fixture file (YAML or JSON): one fixture mapping, as under a macro's `fixtures:`.
Result<MacroFixture> load_fixture_file(const std::string& path);

}  // namespace ladder
