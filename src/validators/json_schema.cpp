#include "validators/json_schema.h"

// valijson reports schema errors by calling throwRuntimeError; without exceptions it
// aborts. Parse errors are caught below, at this boundary.
#ifndef VALIJSON_USE_EXCEPTIONS
#define VALIJSON_USE_EXCEPTIONS 1
#endif

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <exception>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <unordered_map>

namespace ladder {
namespace {

constexpr std::size_t kMaxReportedViolations = 3;
constexpr std::size_t kSchemaCacheCapacity = 256;

// Compiled schemas keyed by their serialised form. Shared state under a lock.
class SchemaCache {
 public:
  Result<std::shared_ptr<const valijson::Schema>> get(const nlohmann::json& schema) {
    std::string key = schema.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = cache_.find(key);
      if (it != cache_.end()) return it->second;
    }
    auto compiled = compile(schema);
    if (!compiled.ok()) return compiled.status();
    std::lock_guard<std::mutex> lock(mutex_);
    if (cache_.size() >= kSchemaCacheCapacity) cache_.clear();
    cache_.emplace(std::move(key), compiled.value());
    return compiled;
  }

 private:
  static Result<std::shared_ptr<const valijson::Schema>> compile(const nlohmann::json& schema) {
    if (!schema.is_object() && !schema.is_boolean())
      return make_error(ErrorCode::kConfigInvalid, "JSON Schema must be an object");
    if (Status s = check_patterns(schema, ""); !s.ok()) return s;
    auto compiled = std::make_shared<valijson::Schema>();
    try {
      valijson::SchemaParser parser;
      valijson::adapters::NlohmannJsonAdapter adapter(schema);
      parser.populateSchema(adapter, *compiled);
    } catch (const std::exception& e) {
      return make_error(ErrorCode::kConfigInvalid, std::string("JSON Schema does not compile: ") + e.what());
    }
    return std::shared_ptr<const valijson::Schema>(std::move(compiled));
  }

  // valijson compiles `pattern` lazily, at validation time; check them up front.
  static Status check_patterns(const nlohmann::json& node, const std::string& path) {
    if (node.is_object()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string child = path + "/" + it.key();
        if (it.key() == "pattern" && it.value().is_string()) {
          if (Status s = check_regex(it.value().get<std::string>(), child); !s.ok()) return s;
        } else if (it.key() == "patternProperties" && it.value().is_object()) {
          for (auto p = it.value().begin(); p != it.value().end(); ++p) {
            if (Status s = check_regex(p.key(), child); !s.ok()) return s;
            if (Status s = check_patterns(p.value(), child + "/" + p.key()); !s.ok()) return s;
          }
          continue;
        }
        if (Status s = check_patterns(it.value(), child); !s.ok()) return s;
      }
    } else if (node.is_array()) {
      for (std::size_t i = 0; i < node.size(); ++i)
        if (Status s = check_patterns(node[i], path + "/" + std::to_string(i)); !s.ok()) return s;
    }
    return Status::ok_status();
  }

  static Status check_regex(const std::string& pattern, const std::string& path) {
    try {
      std::regex re(pattern);
      (void)re;
    } catch (const std::regex_error& e) {
      return make_error(ErrorCode::kConfigInvalid,
                        "JSON Schema " + path + ": pattern '" + pattern + "' does not compile: " + e.what());
    }
    return Status::ok_status();
  }

  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const valijson::Schema>> cache_;
};

SchemaCache& schema_cache() {
  static SchemaCache cache;
  return cache;
}

// valijson context ["<root>", "[prCount]", "[0]"] → {"prCount", "0"}.
std::vector<std::string> error_parts(const std::vector<std::string>& context) {
  std::vector<std::string> parts;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string_view p = part;
    if (p.size() >= 2 && p.front() == '[' && p.back() == ']') p = p.substr(1, p.size() - 2);
    if (p.size() >= 2 && p.front() == '"' && p.back() == '"') p = p.substr(1, p.size() - 2);
    parts.emplace_back(p);
  }
  return parts;
}

// The offending value, when the path leads to a scalar: " (got 80)".
std::string offending_value(const nlohmann::json& document, const std::vector<std::string>& parts) {
  const nlohmann::json* node = &document;
  for (const auto& part : parts) {
    if (node->is_object()) {
      auto it = node->find(part);
      if (it == node->end()) return {};
      node = &*it;
    } else if (node->is_array()) {
      std::size_t index = 0;
      for (char c : part) {
        if (c < '0' || c > '9') return {};
        index = index * 10 + static_cast<std::size_t>(c - '0');
      }
      if (part.empty() || index >= node->size()) return {};
      node = &(*node)[index];
    } else {
      return {};
    }
  }
  if (node->is_structured()) return {};
  std::string value = node->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (value.size() > 60) value = value.substr(0, 57) + "...";
  return " (got " + value + ")";
}

std::string error_line(const nlohmann::json& document, const valijson::ValidationResults::Error& error) {
  const auto parts = error_parts(error.context);
  std::string path;
  for (const auto& p : parts) path += "/" + p;
  if (path.empty()) path = "/";
  return path + ": " + error.description + offending_value(document, parts);
}

// valijson wraps each leaf violation in "Failed to validate ..." summaries; the leaves
// say what is wrong.
bool is_summary(const std::string& description) { return description.rfind("Failed to validate", 0) == 0; }

}  // namespace

Status validate_json_schema(const nlohmann::json& schema, const nlohmann::json& document) {
  auto compiled = schema_cache().get(schema);
  if (!compiled.ok()) return compiled.status();
  valijson::ValidationResults results;
  bool valid = false;
  try {
    valijson::Validator validator;
    valijson::adapters::NlohmannJsonAdapter target(document);
    valid = validator.validate(*compiled.value(), target, &results);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kSchemaInvalid, std::string("schema validation failed: ") + e.what());
  }
  if (valid) return Status::ok_status();

  std::vector<std::string> leaves;
  std::vector<std::string> summaries;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string line = error_line(document, error);
    (is_summary(error.description) ? summaries : leaves).push_back(std::move(line));
  }
  const auto& chosen = leaves.empty() ? summaries : leaves;
  std::string message;
  for (std::size_t i = 0; i < chosen.size() && i < kMaxReportedViolations; ++i) {
    if (i) message += "; ";
    message += chosen[i];
  }
  if (chosen.size() > kMaxReportedViolations)
    message += " (+" + std::to_string(chosen.size() - kMaxReportedViolations) + " more)";
  if (message.empty()) message = "document does not match its schema";
  return make_error(ErrorCode::kSchemaInvalid, message);
}

Status check_json_schema(const nlohmann::json& schema) {
  auto compiled = schema_cache().get(schema);
  return compiled.ok() ? Status::ok_status() : compiled.status();
}

nlohmann::json apply_schema_defaults(const nlohmann::json& object_schema, nlohmann::json args) {
  if (!args.is_object() || !object_schema.is_object()) return args;
  auto props = object_schema.find("properties");
  if (props == object_schema.end() || !props->is_object()) return args;
  for (auto it = props->begin(); it != props->end(); ++it) {
    if (!it.value().is_object() || args.contains(it.key())) continue;
    auto def = it.value().find("default");
    if (def != it.value().end()) args[it.key()] = *def;
  }
  return args;
}

}  // namespace ladder
