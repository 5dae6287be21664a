// A compiled macro: a typed input schema plus a fixed pipeline of steps that runs with no
// model in the loop. Built by src/config/macro_file from one YAML file per macro; run by
// src/macros. Immutable after load.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ladder {

enum class MacroStatus { kActive, kDeprecated, kRetired };

struct MacroRetry {
  int attempts = 0;  // tries in all; 0: 3 for GET, 1 for writes
  int backoff_ms = 200;
  int max_backoff_ms = 5000;
};

// Values, templates and predicates in steps are kept as JSON and evaluated against the
// run's scope (see src/macros/expr.h): {ref: /json/pointer} reads a typed value, a string
// with {{...}} is a Mustache template, anything else is literal.
struct MacroStep {
  enum class Kind { kHttp, kForeach, kClassify, kNative, kMap, kFilter, kEmit };
  std::string id;
  Kind kind = Kind::kEmit;
  std::string description;
  int line = 0;
  nlohmann::json when;                  // predicate; null: always
  nlohmann::json irreversible = false;  // bool or predicate
  int timeout_ms = 10000;
  MacroRetry retry;
  // HTTP status -> error state name (string) or {result: value} (treated as success).
  std::map<int, nlohmann::json> on_status;

  // http
  std::string host;
  std::string method = "GET";
  std::string path;                                 // template; values are percent-encoded
  nlohmann::json query = nlohmann::json::object();  // name -> value
  nlohmann::json headers = nlohmann::json::object();
  nlohmann::json body;       // value; null: no body
  int max_pages = 1;         // follow Link rel="next" up to this many pages
  nlohmann::json max_items;  // value; null: no limit
  nlohmann::json pick;       // null | "/pointer" | {name: "/pointer"}

  // foreach, map, filter
  nlohmann::json over;
  std::string as = "item";
  int parallelism = 1;
  std::vector<MacroStep> steps;  // foreach body
  nlohmann::json result;         // foreach: per-item result (null: the inner step results)
  nlohmann::json to;             // map
  nlohmann::json where;          // filter predicate
  nlohmann::json limit;          // filter: keep at most this many

  // classify
  std::string task;
  nlohmann::json input;  // also native's input

  // native
  std::string handler;

  // emit
  nlohmann::json value;

  bool writes() const { return kind == Kind::kHttp && method != "GET"; }
};

struct MacroHost {
  std::string name;
  std::string base_url;      // https://api.github.com
  std::string base_url_env;  // environment variable that overrides base_url when set
  std::map<std::string, std::string> headers;
  std::string auth_secret;  // secret sent to this host only
  std::string auth_header = "Authorization";
  std::string auth_prefix = "Bearer ";
  int breaker_failures = 5;  // consecutive failures that open the circuit
  int breaker_open_ms = 30000;
  int max_rate_limit_wait_ms = 60000;  // longest Retry-After / rate-limit reset honoured by waiting
};

struct MacroSecret {
  std::string name;
  std::string env;   // environment variable holding the value
  std::string file;  // or a file holding it (first line), resolved next to the macro file
  bool required = false;
};

struct MacroFixture {
  std::string name;
  std::string source;  // file it came from
  int line = 0;
  nlohmann::json args;
  bool approve = false;
  std::string now;                                     // clock of the run (RFC 3339)
  nlohmann::json exchanges = nlohmann::json::array();  // [{request:{method,url,body?}, response:{status,headers,body}}]
  nlohmann::json classify = nlohmann::json::array();   // [{task, input, result:{label,...}}]
  nlohmann::json expect;                               // {status, result?, error?: {step, reason}}
};

struct MacroDefinition {
  std::string id;      // family_vN
  std::string family;  // id without its _vN suffix
  int version = 1;
  std::string intent;
  std::string description;
  MacroStatus status = MacroStatus::kActive;
  std::string successor;   // retired/deprecated: the id requests move to
  nlohmann::json migrate;  // successor args from {args: old args}; null: same args
  nlohmann::json input_schema;
  nlohmann::json output_schema;  // null: unchecked
  nlohmann::json irreversible_when = nlohmann::json::object();
  std::vector<MacroHost> hosts;
  std::vector<MacroSecret> secrets;
  std::vector<std::string> errors;  // declared error states (the failure contract)
  // Agent tool calls this macro does in one go, in order (`ladder distill --policy` counts
  // repeated sequences of them as encoded).
  std::vector<std::string> replaces;
  std::vector<MacroStep> steps;
  std::vector<MacroFixture> fixtures;
  std::string source_path;

  const MacroHost* find_host(const std::string& name) const {
    for (const auto& h : hosts)
      if (h.name == name) return &h;
    return nullptr;
  }
};

using MacroDefinitionPtr = std::shared_ptr<const MacroDefinition>;

// Calls fn on every step, foreach bodies included (depth first, in order).
template <typename Fn>
void for_each_step(const std::vector<MacroStep>& steps, Fn&& fn) {
  for (const auto& step : steps) {
    fn(step);
    if (step.kind == MacroStep::Kind::kForeach) for_each_step(step.steps, fn);
  }
}

}  // namespace ladder
