// Immutable, validated policy. Built by src/config from YAML; shared as
// std::shared_ptr<const Config> and never modified after load.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/macro.h"

namespace ladder {

struct RetryConfig {
  int max_retries = 2;
  int initial_backoff_ms = 200;
  int max_backoff_ms = 5000;
  double jitter = 0.2;  // fraction of the backoff added or removed at random
};

struct ModelConfig {
  std::string name;     // key under `models:`
  std::string backend;  // embedded | openai | ollama | anthropic
  // embedded
  std::string model_path;  // resolved relative to the policy file's folder
  int context_size = 4096;
  int threads = 0;  // 0: hardware concurrency
  int batch_size = 512;
  // `ladder calibrate`'s output for this model file (resolved like model_path); empty:
  // confidences are used as measured. Its entry must carry this file's sha256.
  std::string calibration_file;
  // network backends
  std::string base_url;     // http://host:port[/prefix]
  std::string model;        // model id sent upstream
  std::string api_key_env;  // environment variable holding the key, if any
  int connect_timeout_ms = 2000;
  int request_timeout_ms = 30000;
  RetryConfig retry;
  std::string keep_alive = "10m";  // ollama
  std::string anthropic_version = "2023-06-01";
};

struct TierConfig {
  std::string name;
  std::vector<std::string> models;  // tried in order (fallback within the tier)
  // A local tier: its answer is checked like tier 0's (validators, confidence) and
  // accepted or climbed from. Tier 0 always is; `local: true` on the tiers right after it
  // makes a ladder of local models (a small fast one first, a larger one when unsure).
  bool local = false;
};

struct ExampleConfig {
  std::string input;
  nlohmann::json output;
};

enum class TaskKind { kClassify, kExtract, kGenerate, kRouteMacro };

// `reduce:` under a task: the input is a log; the local model and the escalation packet
// read it reduced (src/preprocess) to at most max_tokens estimated tokens.
struct ReduceConfig {
  int max_tokens = 512;
  int context_lines = 2;
  int tail_lines = 8;
};

// `checks:` under a generate task: what a free-text answer must meet besides parsing.
struct AnswerChecks {
  std::vector<std::string> grounded;  // top-level answer fields quoted from the input
  int min_chars = 0;                  // bounds on the answer's string content (0: none)
  int max_chars = 0;
  double max_copy_ratio = 1.0;       // share of the input's lines the answer may repeat
  double confidence_quantile = 0.1;  // token-probability quantile compared to min_confidence
};

struct HardStopRule {
  std::string id;       // stable rule id, reported in the audit record
  std::string pattern;  // RE2 syntax, matched case-insensitively
};

// How one classify evidence rule weighs beside the evidence of other labels.
struct EvidenceWeight {
  // The rule names a tool or a marker that logs of other labels print too (a linter's
  // name, a test runner's): it corroborates its label alone, and yields to another
  // label's evidence that is not weak.
  bool weak = false;
  // Labels whose evidence this rule explains when it matches (a compiler error inside a
  // dependency's source, a CMake error for a missing package, are dependency failures):
  // their evidence does not compete with this rule's label. Never a label that escalates.
  std::vector<std::string> outranks;
};

struct TaskConfig {
  std::string name;
  TaskKind kind = TaskKind::kGenerate;
  std::string description;
  bool local_allowed = true;
  std::vector<std::string> labels;           // classify
  std::vector<std::string> escalate_labels;  // classify
  double min_confidence = 0.0;
  int max_input_chars = 16000;
  std::optional<nlohmann::json> output_schema;  // derived for classify when absent
  std::string prompt;                           // template: {{input}}, {{labels}}, ...
  std::vector<ExampleConfig> examples;
  int max_tokens = 256;
  bool scan_answer = true;  // hard-stop scan of the local answer too
  // Closed choices (classify labels, macro ids): "content_free" divides the choice
  // probabilities by those the model gives content-free inputs ("N/A", "[MASK]", ""),
  // then renormalises (contextual calibration); "none" uses them as they are.
  std::string calibration = "none";
  std::optional<ReduceConfig> reduce;
  AnswerChecks checks;
  // classify: `evidence:` label → rules (same shape as hard stops) marking what a log of
  // that label shows. When set, a local label is accepted only when the input shows
  // evidence for it and for no other label (after the weights below).
  std::map<std::string, std::vector<HardStopRule>> evidence;
  // Evidence rule id → how it weighs beside other labels' evidence; rules absent weigh
  // plainly (not weak, outranking nothing).
  std::map<std::string, EvidenceWeight> evidence_weights;
};

enum class HardStopCategory { kSecurity, kAccess, kProduction };

struct HardStopConfig {
  std::vector<HardStopRule> security;
  std::vector<HardStopRule> access;
  std::vector<HardStopRule> production;
};

struct CapabilityConfig {
  bool privacy_forces_local = true;
  int max_context_tokens = 8192;  // estimated input tokens above this go up
  int max_tool_chain = 8;         // requests with longer tool chains go up
};

struct MacroConfig {
  std::string id;
  std::string intent;
  nlohmann::json input_schema;
  nlohmann::json irreversible_when = nlohmann::json::object();  // arg -> value
};

struct AuditConfig {
  std::string jsonl_path;  // empty: no JSONL sink
  bool store_raw_prompt = false;
  int preview_chars = 240;
  // on_failure: open (default) answers a request whose record could not be written;
  // closed refuses it with audit_unavailable (503).
  bool fail_closed = false;
  // replay: {key_env: NAME}: each record keeps its raw input sealed (AES-256-GCM) with the
  // 64-hex-digit key in this environment variable, for `ladder replay` (docs/store.md).
  // Empty: no sealed input.
  std::string replay_key_env;
};

// `rotation:` a candidate local model run in shadow beside the live local tier on real
// traffic; its result goes into the audit record (`candidate`) for `ladder rotate report`.
struct RotationConfig {
  std::string candidate;           // a model under models:
  std::vector<std::string> tasks;  // the tasks shadowed; every task that may run locally when empty
  double sample = 1.0;             // share of those requests shadowed (by request id)
};

// `health:` how a backend's health is judged from its calls and probes (src/router/health.h).
struct HealthConfig {
  int failures_to_mark_down = 3;  // failed calls or probes in a row that mark a model down
  int cooldown_ms = 5000;         // while down, one trial call per cool-down (half-open)
};

// Where decision records are stored beside the JSONL log (docs/store.md).
struct StoreConfig {
  enum class Kind { kJsonl, kSqlite, kPostgres };  // kJsonl: the JSONL log only
  Kind kind = Kind::kJsonl;
  std::string path;              // sqlite: database file (resolved against the policy folder)
  std::string dsn_env;           // postgres: environment variable holding the libpq connection string
  bool synchronous_full = true;  // sqlite: synchronous=FULL (else NORMAL)
  int queue_capacity = 1024;     // records waiting for the writer thread
  int batch_size = 64;           // records per transaction at most
  bool fail_when_full = false;   // on_full: block (default) or fail the request
  int max_age_days = 0;          // retention; 0 keeps every record
  std::int64_t max_rows = 0;     // retention; 0 keeps every record
  std::int64_t max_size_mb = 0;  // sqlite: largest database size; 0 no limit
};

// Prices for `ladder stats` (docs/store.md): US dollars per million tokens per model, and
// what a second of local model time costs, so local answers are not free.
struct CostConfig {
  struct Price {
    double prompt_per_million = 0;
    double completion_per_million = 0;
  };
  std::map<std::string, Price> models;  // by model name (models: key)
  double local_per_second = 0;
};

// The bars `ladder eval --gate` holds a corpus run to before a configuration ships.
struct ReleaseGateConfig {
  double min_json_validity = 0.99;   // of local answers
  double min_label_accuracy = 0.95;  // of accepted classify answers
  int max_false_accepts = 0;
  double min_local_acceptance = 0.0;  // of cases expected local
  std::optional<double> max_ece;      // unset: not gated
};

struct Config {
  std::string source_path;  // policy file path
  std::map<std::string, ModelConfig> models;
  std::vector<TierConfig> tiers;  // [0] local ... [n-1] frontier
  std::map<std::string, TaskConfig> tasks;
  HardStopConfig hard_stops;
  CapabilityConfig capabilities;
  std::vector<MacroConfig> macros;  // what route_macro chooses among (active macros)
  // Compiled macros from macro_files, every status, in file order.
  std::vector<MacroDefinitionPtr> macro_definitions;
  AuditConfig audit;
  HealthConfig health;
  StoreConfig store;
  CostConfig costs;
  ReleaseGateConfig release_gate;
  std::optional<RotationConfig> rotation;
  bool kill_switch = false;  // force every task to the frontier
  bool shadow = false;       // frontier answers; local runs beside it for the audit
  // ladder serve: a task name a client sends that the policy does not define escalates
  // (reason unknown_task) instead of being refused with 404 not_found.
  bool escalate_unknown_tasks = false;

  const TaskConfig* find_task(const std::string& name) const {
    auto it = tasks.find(name);
    return it == tasks.end() ? nullptr : &it->second;
  }
  const MacroDefinition* find_macro_definition(const std::string& id) const {
    for (const auto& m : macro_definitions)
      if (m->id == id) return m.get();
    return nullptr;
  }
  const MacroConfig* find_macro(const std::string& id) const {
    for (const auto& m : macros)
      if (m.id == id) return &m;
    return nullptr;
  }
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace ladder
