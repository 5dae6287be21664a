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

// Whether a stored record is a routing decision (route local, frontier or refused), as
// stats, the UI and drift count them: pass-through calls, macro runs and requests
// refused at the edge (route rejected, over a per-key limit) are records, not decisions.
inline bool is_routing_decision(const nlohmann::json& record) {
  const std::string route = string_field(record, "route");
  return route == "local" || route == "frontier" || route == "refused";
}

}  // namespace ladder::store
