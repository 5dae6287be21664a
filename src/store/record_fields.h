// Reading a stored audit record (the JSON of src/audit/record.cpp) field by field: a
// field that is absent, or not a string, reads as the fallback; nothing throws.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ladder::store {

inline std::string string_field(const nlohmann::json& j, const char* key, const std::string& fallback = {}) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace ladder::store
