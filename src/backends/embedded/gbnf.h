// JSON Schema → GBNF through llama.cpp's common/json-schema-to-grammar. Plain strings in
// and out: gbnf.cpp is the only translation unit that sees llama.cpp's vendored
// nlohmann::json, so it never meets the system nlohmann::json the rest of ladder uses.
#pragma once

#include <string>

namespace ladder::gbnf {

struct Conversion {
  bool ok = false;
  std::string grammar;  // GBNF text with a `root` rule when ok
  std::string error;    // why the schema could not be converted when !ok
};

// schema_json: the JSON Schema as JSON text.
Conversion json_schema_to_gbnf(const std::string& schema_json);

}  // namespace ladder::gbnf
