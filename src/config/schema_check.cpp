#include "config/schema_check.h"

#include <regex>
#include <set>

namespace ladder::config_detail {
namespace {

const std::set<std::string> kTypes = {"object", "array", "string", "number", "integer", "boolean", "null"};

std::string sub(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

void check(const nlohmann::json& s, const std::string& path, std::vector<SchemaProblem>& out);

void check_sub(const nlohmann::json& s, const std::string& path, std::vector<SchemaProblem>& out) {
  if (s.is_boolean()) return;  // true/false are valid subschemas
  check(s, path, out);
}

void check(const nlohmann::json& s, const std::string& path, std::vector<SchemaProblem>& out) {
  if (!s.is_object()) {
    out.push_back({path, "a JSON Schema must be an object"});
    return;
  }
  std::vector<std::string> types;
  if (auto it = s.find("type"); it != s.end()) {
    if (it->is_string()) {
      types.push_back(it->get<std::string>());
    } else if (it->is_array() && !it->empty()) {
      for (const auto& t : *it) types.push_back(t.is_string() ? t.get<std::string>() : "");
    } else {
      out.push_back({sub(path, "type"), "expected a type name or a list of type names"});
    }
    for (const auto& t : types) {
      if (!kTypes.count(t)) {
        out.push_back({sub(path, "type"), "unknown JSON type \"" + t + "\""});
      }
    }
  }
  if (auto it = s.find("properties"); it != s.end()) {
    if (!it->is_object()) {
      out.push_back({sub(path, "properties"), "expected a mapping of property schemas"});
    } else {
      for (const auto& [name, prop] : it->items()) {
        check_sub(prop, sub(sub(path, "properties"), name), out);
      }
    }
  }
  if (auto it = s.find("required"); it != s.end()) {
    std::set<std::string> seen;
    bool ok = it->is_array();
    if (ok) {
      for (const auto& r : *it) ok = ok && r.is_string() && seen.insert(r.get<std::string>()).second;
    }
    if (!ok) {
      out.push_back({sub(path, "required"), "expected a list of distinct property names"});
    } else if (auto props = s.find("properties"); props != s.end() && props->is_object()) {
      for (const auto& r : seen) {
        if (!props->contains(r)) {
          out.push_back({sub(path, "required"), "\"" + r + "\" is not among the properties"});
        }
      }
    }
  }
  if (auto it = s.find("enum"); it != s.end() && (!it->is_array() || it->empty())) {
    out.push_back({sub(path, "enum"), "expected a non-empty list"});
  }
  if (auto it = s.find("items"); it != s.end()) {
    if (it->is_array()) {
      for (std::size_t i = 0; i < it->size(); ++i) {
        check_sub((*it)[i], sub(path, "items") + "[" + std::to_string(i) + "]", out);
      }
    } else {
      check_sub(*it, sub(path, "items"), out);
    }
  }
  if (auto it = s.find("additionalProperties"); it != s.end()) {
    check_sub(*it, sub(path, "additionalProperties"), out);
  }
  for (const char* key : {"anyOf", "oneOf", "allOf"}) {
    if (auto it = s.find(key); it != s.end()) {
      if (!it->is_array() || it->empty()) {
        out.push_back({sub(path, key), "expected a non-empty list of schemas"});
        continue;
      }
      for (std::size_t i = 0; i < it->size(); ++i) {
        check_sub((*it)[i], sub(path, key) + "[" + std::to_string(i) + "]", out);
      }
    }
  }
  if (auto it = s.find("not"); it != s.end()) check_sub(*it, sub(path, "not"), out);
  for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}) {
    if (auto it = s.find(key); it != s.end() && !it->is_number()) {
      out.push_back({sub(path, key), "expected a number"});
    }
  }
  for (const char* key : {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}) {
    if (auto it = s.find(key); it != s.end() && !(it->is_number_integer() && it->get<long long>() >= 0)) {
      out.push_back({sub(path, key), "expected a non-negative integer"});
    }
  }
  if (auto it = s.find("pattern"); it != s.end()) {
    if (!it->is_string()) {
      out.push_back({sub(path, "pattern"), "expected a regular expression string"});
    } else if (it->get_ref<const std::string&>().size() > kMaxPatternBytes) {
      // std::regex (ECMAScript, as JSON Schema wants) compiles recursively: 300 KB of
      // pattern overflowed the stack (fuzz/regressions/policy_yaml).
      out.push_back({sub(path, "pattern"), "longer than " + std::to_string(kMaxPatternBytes) + " bytes"});
    } else {
      try {
        std::regex re(it->get<std::string>(), std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        out.push_back({sub(path, "pattern"), "does not compile as a regular expression"});
      }
    }
  }
  if (auto it = s.find("default"); it != s.end()) {
    if (!types.empty()) {
      bool any = false;
      for (const auto& t : types) any = any || json_is_type(*it, t);
      if (!any) out.push_back({sub(path, "default"), "default does not match the declared type"});
    }
    if (auto e = s.find("enum"); e != s.end() && e->is_array()) {
      bool found = false;
      for (const auto& v : *e) found = found || v == *it;
      if (!found) out.push_back({sub(path, "default"), "default is not one of the enum values"});
    }
  }
}

}  // namespace

bool json_is_type(const nlohmann::json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (v.is_number_float()) {
      double d = v.get<double>();
      return d == static_cast<double>(static_cast<long long>(d));
    }
    return false;
  }
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  return false;
}

std::vector<SchemaProblem> check_schema(const nlohmann::json& schema) {
  std::vector<SchemaProblem> out;
  check(schema, "", out);
  return out;
}

std::vector<SchemaProblem> check_macro_arguments(const nlohmann::json& input_schema,
                                                 const nlohmann::json& irreversible_when) {
  std::vector<SchemaProblem> out;
  if (!input_schema.is_object()) return out;  // the caller reports a schema that is not a mapping
  for (auto& problem : check_schema(input_schema)) out.push_back({sub("input_schema", problem.path), problem.what});
  if (auto type = input_schema.find("type"); type == input_schema.end() || *type != "object")
    out.push_back({"input_schema.type", "a macro's input schema must have type: object"});
  auto props = input_schema.find("properties");
  if (props == input_schema.end() || !props->is_object()) {
    out.push_back({"input_schema.properties", "a macro's input schema needs a properties mapping"});
    return out;
  }
  if (!irreversible_when.is_object()) return out;
  for (const auto& [arg, value] : irreversible_when.items()) {
    const std::string at = "irreversible_when." + arg;
    if (!props->contains(arg)) out.push_back({at, "argument \"" + arg + "\" is not among the input_schema properties"});
    if (value.is_object() || value.is_array()) out.push_back({at, "expected a scalar value"});
  }
  return out;
}

}  // namespace ladder::config_detail
