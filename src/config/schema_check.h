// Private to src/config: a light structural check of JSON Schema documents written in a
// policy (task output schemas, macro input schemas). It catches typos and wrong shapes
// (a "type" that is not a JSON type, "required" that is not a list of strings, a default
// outside its enum); the full validation of answers lives in src/validators.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ladder::config_detail {

struct SchemaProblem {
  std::string path;  // relative to the schema root: "" or "properties.label.enum"
  std::string what;
};

// Longest `pattern` a schema may hold (docs/hardening.md).
inline constexpr std::size_t kMaxPatternBytes = 4096;

std::vector<SchemaProblem> check_schema(const nlohmann::json& schema);

// A macro's argument contract, the same for a policy's inline macros and a macro file: the
// input schema is a JSON Schema of type object with a properties mapping, and each entry of
// irreversible_when (null when absent) names one of those properties and holds a scalar.
// Paths start with "input_schema" or "irreversible_when"; an input schema that is not an
// object gives no problems (the caller has reported it).
std::vector<SchemaProblem> check_macro_arguments(const nlohmann::json& input_schema,
                                                 const nlohmann::json& irreversible_when);

// True when `value` is an instance of the simple JSON type name ("string", "integer", ...).
bool json_is_type(const nlohmann::json& value, const std::string& type);

}  // namespace ladder::config_detail
