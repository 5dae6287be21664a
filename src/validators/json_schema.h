// JSON Schema validation (valijson) and defaults.
#pragma once

#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder {

// ok, or kSchemaInvalid with the first few violations ("/prCount: 80 > maximum 50").
Status validate_json_schema(const nlohmann::json& schema, const nlohmann::json& document);

// Is `schema` itself a schema valijson can compile? (config validation)
Status check_json_schema(const nlohmann::json& schema);

// Fills top-level properties absent from `args` with their schema `default`.
nlohmann::json apply_schema_defaults(const nlohmann::json& object_schema, nlohmann::json args);

}  // namespace ladder
