// YAML policy → validated, immutable Config.
//
// Error reporting: the loader keeps going after a problem and reports every problem it
// found, one per line, in file order within each section ("<source>:<line>: <yaml.path>:
// <what>"). The Status code is the code of the first problem: kParseError for malformed
// YAML, invalid UTF-8 or a malformed macros_file, kConfigInvalid for everything else,
// kNotFound only when the policy file itself does not exist. yaml-cpp exceptions never
// leave this file.
#include "config/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <set>
#include <sstream>

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include "config/macro_file.h"
#include "config/rotation_keys.h"
#include "config/schema_check.h"
#include "config/yaml_reader.h"
#include "ladder/utf8.h"

namespace ladder {
namespace {

namespace fs = std::filesystem;
using config_detail::At;
using config_detail::quote;
using config_detail::Reader;

constexpr int kIntMax = std::numeric_limits<int>::max();

const std::vector<std::string> kTopKeys = {
    "version", "models",  "tiers", "tasks",  "hard_stops",  "capabilities", "kill_switch",  "shadow",
    "audit",   "store",   "costs", "macros", "macros_file", "macro_files",  "release_gate", "escalate_unknown_tasks",
    "health",  "rotation"};
const std::vector<std::string> kBackends = {"embedded", "openai", "ollama", "anthropic"};
const std::vector<std::string> kEmbeddedKeys = {"backend", "path",       "context_size",
                                                "threads", "batch_size", "calibration_file"};
const std::vector<std::string> kNetworkKeys = {
    "backend", "base_url", "model", "api_key_env", "connect_timeout_ms", "request_timeout_ms", "retry"};
const std::vector<std::string> kAllModelKeys = {"backend",
                                                "path",
                                                "context_size",
                                                "threads",
                                                "batch_size",
                                                "calibration_file",
                                                "base_url",
                                                "model",
                                                "api_key_env",
                                                "connect_timeout_ms",
                                                "request_timeout_ms",
                                                "retry",
                                                "keep_alive",
                                                "anthropic_version"};
const std::vector<std::string> kTaskKeys = {
    "kind",       "description",   "local",  "labels",   "escalate_labels", "min_confidence", "max_input_chars",
    "max_tokens", "output_schema", "prompt", "examples", "scan_answer",     "calibration",    "reduce",
    "checks",     "evidence"};
const std::vector<std::string> kPlaceholders = {"input", "labels", "examples", "macros"};

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  fs::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = fs::path(base_dir) / p;
  return p.lexically_normal().string();
}

std::vector<std::string> model_keys_for(const std::string& backend) {
  if (backend == "embedded") return kEmbeddedKeys;
  std::vector<std::string> keys = kNetworkKeys;
  if (backend == "ollama") keys.push_back("keep_alive");
  if (backend == "anthropic") keys.push_back("anthropic_version");
  return keys;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

class PolicyParser {
 public:
  PolicyParser(Reader& reader, std::string base_dir) : r_(reader), base_dir_(std::move(base_dir)) {}

  void parse(const At& root, Config& config);

 private:
  void parse_models(const At& at, Config& config);
  void parse_model(const std::string& name, const At& at, ModelConfig& model);
  void parse_retry(const At& at, RetryConfig& retry);
  void parse_tiers(const At& at, Config& config);
  void parse_tasks(const At& at, Config& config);
  bool parse_task(const std::string& name, const At& at, TaskConfig& task);
  void parse_reduce(const At& at, ReduceConfig& reduce);
  void parse_checks(const At& at, const TaskConfig& task, AnswerChecks& checks);
  void parse_hard_stops(const At& at, HardStopConfig& config);
  void parse_evidence(const At& at, TaskConfig& task);
  // Hard stops, or with `evidence_of` a classify task's evidence rules (which also take
  // weak and outranks, into evidence_of->evidence_weights).
  void parse_rules(const At& at, const std::string& category, std::vector<HardStopRule>& out,
                   std::map<std::string, std::string>& ids, const std::string& what = "hard-stop",
                   TaskConfig* evidence_of = nullptr);
  void parse_evidence_weight(const std::map<std::string, At>& f, const std::string& label, const std::string& id,
                             TaskConfig& task);
  void parse_capabilities(const At& at, CapabilityConfig& caps);
  void parse_audit(const At& at, AuditConfig& audit);
  void parse_health(const At& at, HealthConfig& health);
  void parse_store(const At& at, StoreConfig& store);
  void parse_costs(const At& at, Config& config);
  void parse_release_gate(const At& at, ReleaseGateConfig& gate);
  void parse_macros(const At& at, std::vector<MacroConfig>& out);
  void parse_macros_file(const At& at, std::vector<MacroConfig>& out);
  void parse_macro_files(const At& at, Config& config);
  void check_macro_definitions(const At& at, const Config& config);
  void check_schema_at(const At& at, const nlohmann::json& schema);
  void check_macro(const MacroConfig& macro, int line, const std::string& path);
  void check_prompt(const At& at, const std::string& prompt);

  template <typename T>
  void set_int(const std::map<std::string, At>& f, const std::string& key, T& out, std::int64_t min,
               std::int64_t max = kIntMax) {
    auto it = f.find(key);
    if (it == f.end()) return;
    if (auto v = r_.get_int(it->second, min, max)) out = static_cast<T>(*v);
  }
  void set_bool(const std::map<std::string, At>& f, const std::string& key, bool& out) {
    auto it = f.find(key);
    if (it == f.end()) return;
    if (auto v = r_.get_bool(it->second)) out = *v;
  }
  void set_string(const std::map<std::string, At>& f, const std::string& key, std::string& out,
                  bool allow_empty = false) {
    auto it = f.find(key);
    if (it == f.end()) return;
    if (auto v = r_.get_string(it->second, allow_empty)) out = *v;
  }

  Reader& r_;
  std::string base_dir_;
};

void PolicyParser::parse(const At& root, Config& config) {
  auto f = r_.fields(root, kTopKeys);
  if (!f) return;
  bool have_version = r_.require(*f, root, "version");
  bool have_models = r_.require(*f, root, "models");
  bool have_tiers = r_.require(*f, root, "tiers");
  bool have_tasks = r_.require(*f, root, "tasks");
  if (have_version) {
    const At& v = f->at("version");
    auto n = r_.get_int(v, 1, 1);
    (void)n;
  }
  if (have_models) parse_models(f->at("models"), config);
  if (have_tiers) parse_tiers(f->at("tiers"), config);
  if (static_cast<int>(f->count("macros")) + static_cast<int>(f->count("macros_file")) +
          static_cast<int>(f->count("macro_files")) >
      1) {
    const At& mf = f->count("macro_files") ? f->at("macro_files") : f->at("macros_file");
    r_.error(mf.line, mf.path, "give one of macros, macros_file, macro_files");
  } else if (f->count("macro_files")) {
    parse_macro_files(f->at("macro_files"), config);
  } else if (f->count("macros")) {
    parse_macros(f->at("macros"), config.macros);
  } else if (f->count("macros_file")) {
    parse_macros_file(f->at("macros_file"), config.macros);
  }
  if (have_tasks) parse_tasks(f->at("tasks"), config);
  if (f->count("macro_files")) check_macro_definitions(f->at("macro_files"), config);
  if (f->count("hard_stops")) parse_hard_stops(f->at("hard_stops"), config.hard_stops);
  if (f->count("capabilities")) parse_capabilities(f->at("capabilities"), config.capabilities);
  set_bool(*f, "kill_switch", config.kill_switch);
  set_bool(*f, "shadow", config.shadow);
  set_bool(*f, "escalate_unknown_tasks", config.escalate_unknown_tasks);
  if (f->count("audit")) parse_audit(f->at("audit"), config.audit);
  if (f->count("health")) parse_health(f->at("health"), config.health);
  if (f->count("store")) {
    parse_store(f->at("store"), config.store);
  } else {  // the embedded default: an SQLite file beside the policy (docs/store.md)
    config.store.kind = StoreConfig::Kind::kSqlite;
    config.store.path = resolve_path(base_dir_, "ladder.db");
  }
  if (f->count("costs")) parse_costs(f->at("costs"), config);
  if (f->count("release_gate")) parse_release_gate(f->at("release_gate"), config.release_gate);
  if (f->count("rotation")) config_detail::parse_rotation(r_, f->at("rotation"), config);
}

void PolicyParser::parse_models(const At& at, Config& config) {
  auto list = r_.entries(at);
  if (!list) return;
  if (list->empty()) r_.error(at.line, at.path, "at least one model is required");
  for (const auto& [name, value] : *list) {
    ModelConfig model;
    model.name = name;
    parse_model(name, value, model);
    config.models.emplace(name, std::move(model));
  }
}

void PolicyParser::parse_model(const std::string& name, const At& at, ModelConfig& model) {
  auto f = r_.fields(at, kAllModelKeys);
  if (!f) return;
  if (!r_.require(*f, at, "backend")) return;
  auto backend = r_.get_string(f->at("backend"));
  if (!backend) return;
  if (!contains(kBackends, *backend)) {
    const At& b = f->at("backend");
    r_.error(b.line, b.path, "expected one of embedded, openai, ollama, anthropic, got " + quote(*backend));
    return;
  }
  model.backend = *backend;
  auto allowed = model_keys_for(*backend);
  bool ok = true;
  for (const auto& [key, value] : *f) {
    if (!contains(allowed, key)) {
      r_.error(value.line, value.path, "key " + quote(key) + " does not apply to backend " + quote(*backend));
      ok = false;
    }
  }
  if (!ok) return;
  if (*backend == "embedded") {
    if (r_.require(*f, at, "path")) {
      if (auto p = r_.get_string(f->at("path"))) model.model_path = resolve_path(base_dir_, *p);
    }
    set_int(*f, "context_size", model.context_size, 1);
    set_int(*f, "threads", model.threads, 0, 1024);
    set_int(*f, "batch_size", model.batch_size, 1);
    if (f->count("calibration_file")) {
      if (auto p = r_.get_string(f->at("calibration_file"))) model.calibration_file = resolve_path(base_dir_, *p);
    }
    return;
  }
  if (r_.require(*f, at, "base_url")) {
    const At& u = f->at("base_url");
    if (auto url = r_.get_string(u)) {
      bool http = url->rfind("http://", 0) == 0 && url->size() > 7;
      bool https = url->rfind("https://", 0) == 0 && url->size() > 8;
      if (!http && !https) {
        r_.error(u.line, u.path, "expected a URL starting with http:// or https://, got " + quote(*url));
      } else {
        model.base_url = *url;
        while (model.base_url.size() > 1 && model.base_url.back() == '/') model.base_url.pop_back();
      }
    }
  }
  if (r_.require(*f, at, "model")) set_string(*f, "model", model.model);
  if (f->count("api_key_env")) {
    const At& k = f->at("api_key_env");
    if (auto v = r_.get_string(k)) {
      static const RE2 kEnvName("[A-Za-z_][A-Za-z0-9_]*");  // RE2: std::regex recursed per character
      if (!RE2::FullMatch(*v, kEnvName)) {
        r_.error(k.line, k.path, "expected an environment variable name, got " + quote(*v));
      } else {
        model.api_key_env = *v;
      }
    }
  }
  set_int(*f, "connect_timeout_ms", model.connect_timeout_ms, 1);
  set_int(*f, "request_timeout_ms", model.request_timeout_ms, 1);
  if (f->count("retry")) parse_retry(f->at("retry"), model.retry);
  set_string(*f, "keep_alive", model.keep_alive);
  set_string(*f, "anthropic_version", model.anthropic_version);
  (void)name;
}

void PolicyParser::parse_retry(const At& at, RetryConfig& retry) {
  auto f = r_.fields(at, {"max_retries", "initial_backoff_ms", "max_backoff_ms", "jitter"});
  if (!f) return;
  set_int(*f, "max_retries", retry.max_retries, 0, 100);
  set_int(*f, "initial_backoff_ms", retry.initial_backoff_ms, 0);
  set_int(*f, "max_backoff_ms", retry.max_backoff_ms, 0);
  if (f->count("jitter")) {
    if (auto j = r_.get_number(f->at("jitter"), 0.0, 1.0)) retry.jitter = *j;
  }
  if (retry.max_backoff_ms < retry.initial_backoff_ms) {
    const At& where = f->count("max_backoff_ms") ? f->at("max_backoff_ms") : at;
    r_.error(where.line,
             where.path.find("max_backoff_ms") == std::string::npos ? where.path + ".max_backoff_ms" : where.path,
             "must be >= initial_backoff_ms (" + std::to_string(retry.initial_backoff_ms) + ")");
  }
}

void PolicyParser::parse_tiers(const At& at, Config& config) {
  auto list = r_.items(at);
  if (!list) return;
  if (list->empty()) {
    r_.error(at.line, at.path, "at least one tier is required (tier 0 is local)");
    return;
  }
  std::set<std::string> names;
  for (const auto& item : *list) {
    auto f = r_.fields(item, {"name", "models", "local"});
    if (!f) continue;
    TierConfig tier;
    set_bool(*f, "local", tier.local);
    if (config.tiers.empty()) {
      tier.local = true;
    } else if (tier.local && !config.tiers.back().local) {
      const At& l = f->at("local");
      r_.error(l.line, l.path, "a local tier must follow tier 0 or another local tier");
    }
    if (r_.require(*f, item, "name")) {
      const At& n = f->at("name");
      if (auto name = r_.get_string(n)) {
        if (!names.insert(*name).second) {
          r_.error(n.line, n.path, "duplicate tier name " + quote(*name));
        }
        tier.name = *name;
      }
    }
    if (r_.require(*f, item, "models")) {
      const At& m = f->at("models");
      if (auto models = r_.get_string_list(m, true)) {
        if (models->empty()) r_.error(m.line, m.path, "a tier needs at least one model");
        auto elements = r_.items(m);
        for (std::size_t i = 0; i < models->size(); ++i) {
          const std::string& model = (*models)[i];
          if (!config.models.count(model)) {
            const At& e = (*elements)[i];
            r_.error(e.line, e.path, "unknown model " + quote(model) + " (not under models:)");
          }
        }
        tier.models = *models;
      }
    }
    config.tiers.push_back(std::move(tier));
  }
}

void PolicyParser::parse_tasks(const At& at, Config& config) {
  auto list = r_.entries(at);
  if (!list) return;
  if (list->empty()) r_.error(at.line, at.path, "at least one task is required");
  for (const auto& [name, value] : *list) {
    TaskConfig task;
    task.name = name;
    if (!parse_task(name, value, task)) continue;
    if (task.kind == TaskKind::kRouteMacro && config.macros.empty()) {
      r_.error(value.line, value.path, "a route_macro task needs a non-empty macros list (macros: or macros_file:)");
    }
    config.tasks.emplace(name, std::move(task));
  }
}

bool PolicyParser::parse_task(const std::string& name, const At& at, TaskConfig& task) {
  auto f = r_.fields(at, kTaskKeys);
  if (!f) return false;
  if (!r_.require(*f, at, "kind")) return false;
  const At& k = f->at("kind");
  auto kind = r_.get_string(k);
  if (!kind) return false;
  if (*kind == "classify") {
    task.kind = TaskKind::kClassify;
  } else if (*kind == "extract") {
    task.kind = TaskKind::kExtract;
  } else if (*kind == "generate") {
    task.kind = TaskKind::kGenerate;
  } else if (*kind == "route_macro") {
    task.kind = TaskKind::kRouteMacro;
  } else {
    r_.error(k.line, k.path, "expected one of classify, extract, generate, route_macro, got " + quote(*kind));
    return false;
  }
  const bool classify = task.kind == TaskKind::kClassify;
  set_string(*f, "description", task.description, true);
  set_bool(*f, "local", task.local_allowed);
  for (const char* key : {"labels", "escalate_labels"}) {
    if (f->count(key) && !classify) {
      const At& l = f->at(key);
      r_.error(l.line, l.path, std::string("only classify tasks take ") + key);
    }
  }
  if (classify) {
    if (r_.require(*f, at, "labels")) {
      const At& l = f->at("labels");
      if (auto labels = r_.get_string_list(l, true)) {
        if (labels->empty()) r_.error(l.line, l.path, "a classify task needs at least one label");
        task.labels = *labels;
      }
    }
    if (f->count("escalate_labels")) {
      const At& e = f->at("escalate_labels");
      if (auto esc = r_.get_string_list(e, true)) {
        auto elements = r_.items(e);
        for (std::size_t i = 0; i < esc->size(); ++i) {
          if (!task.labels.empty() && !contains(task.labels, (*esc)[i])) {
            const At& el = (*elements)[i];
            r_.error(el.line, el.path, "escalate label " + quote((*esc)[i]) + " is not in labels");
          }
        }
        task.escalate_labels = *esc;
      }
    }
  }
  if (f->count("min_confidence")) {
    if (auto c = r_.get_number(f->at("min_confidence"), 0.0, 1.0)) task.min_confidence = *c;
  }
  set_int(*f, "max_input_chars", task.max_input_chars, 1);
  set_int(*f, "max_tokens", task.max_tokens, 1);
  set_bool(*f, "scan_answer", task.scan_answer);
  if (f->count("calibration")) {
    const At& c = f->at("calibration");
    if (auto mode = r_.get_string(c)) {
      if (*mode != "none" && *mode != "content_free") {
        r_.error(c.line, c.path, "expected one of none, content_free, got " + quote(*mode));
      } else if (task.kind != TaskKind::kClassify && task.kind != TaskKind::kRouteMacro) {
        r_.error(c.line, c.path, "only classify and route_macro tasks make closed choices to calibrate");
      } else {
        task.calibration = *mode;
      }
    }
  }
  if (f->count("output_schema")) {
    const At& s = f->at("output_schema");
    if (!s.node.IsMap()) {
      r_.error(s.line, s.path, "expected a mapping (a JSON Schema), got " + Reader::describe(s.node));
    } else if (auto schema = r_.get_json(s)) {
      check_schema_at(s, *schema);
      task.output_schema = std::move(*schema);
    }
  } else if (classify && !task.labels.empty()) {
    task.output_schema = classify_output_schema(task.labels);
  }
  if (f->count("prompt")) {
    const At& p = f->at("prompt");
    if (auto prompt = r_.get_string(p)) {
      check_prompt(p, *prompt);
      task.prompt = *prompt;
    }
  }
  if (f->count("examples")) {
    const At& e = f->at("examples");
    if (auto list = r_.items(e)) {
      for (const auto& item : *list) {
        auto ef = r_.fields(item, {"input", "output"});
        if (!ef) continue;
        ExampleConfig example;
        bool have_input = r_.require(*ef, item, "input");
        bool have_output = r_.require(*ef, item, "output");
        if (have_input) set_string(*ef, "input", example.input);
        if (have_output) {
          const At& o = ef->at("output");
          if (!o.node.IsMap()) {
            r_.error(o.line, o.path, "expected a mapping, got " + Reader::describe(o.node));
          } else if (auto out = r_.get_json(o)) {
            example.output = std::move(*out);
            if (classify && example.output.contains("label")) {
              const auto& label = example.output["label"];
              if (!label.is_string() || !contains(task.labels, label.get<std::string>())) {
                r_.error(o.line, o.path + ".label", "example label " + label.dump() + " is not in labels");
              }
            }
          }
        }
        task.examples.push_back(std::move(example));
      }
    }
  }
  if (f->count("reduce")) {
    ReduceConfig reduce;
    parse_reduce(f->at("reduce"), reduce);
    task.reduce = reduce;
  }
  if (f->count("evidence")) parse_evidence(f->at("evidence"), task);
  if (f->count("checks")) {
    const At& c = f->at("checks");
    if (task.kind != TaskKind::kGenerate)
      r_.error(c.line, c.path, "only generate tasks take checks");
    else
      parse_checks(c, task, task.checks);
  }
  (void)name;
  return true;
}

void PolicyParser::parse_reduce(const At& at, ReduceConfig& reduce) {
  auto f = r_.fields(at, {"max_tokens", "context_lines", "tail_lines"});
  if (!f) return;
  set_int(*f, "max_tokens", reduce.max_tokens, 16, 1 << 20);
  set_int(*f, "context_lines", reduce.context_lines, 0, 50);
  set_int(*f, "tail_lines", reduce.tail_lines, 0, 200);
}

void PolicyParser::parse_checks(const At& at, const TaskConfig& task, AnswerChecks& checks) {
  auto f = r_.fields(at, {"grounded", "min_chars", "max_chars", "max_copy_ratio", "confidence_quantile"});
  if (!f) return;
  if (f->count("grounded")) {
    const At& g = f->at("grounded");
    if (auto fields = r_.get_string_list(g, true)) {
      const nlohmann::json* props = nullptr;
      if (task.output_schema && task.output_schema->contains("properties"))
        props = &(*task.output_schema)["properties"];
      auto elements = r_.items(g);
      for (std::size_t i = 0; i < fields->size(); ++i) {
        if (!props || !props->contains((*fields)[i])) {
          const At& el = (*elements)[i];
          r_.error(el.line, el.path, "grounded field " + quote((*fields)[i]) + " is not a property of output_schema");
        }
      }
      checks.grounded = *fields;
    }
  }
  set_int(*f, "min_chars", checks.min_chars, 0);
  set_int(*f, "max_chars", checks.max_chars, 0);
  if (checks.max_chars > 0 && checks.min_chars > checks.max_chars) {
    const At& m = f->count("max_chars") ? f->at("max_chars") : at;
    r_.error(m.line, m.path, "max_chars is below min_chars");
  }
  if (f->count("max_copy_ratio")) {
    if (auto v = r_.get_number(f->at("max_copy_ratio"), 0.0, 1.0)) checks.max_copy_ratio = *v;
  }
  if (f->count("confidence_quantile")) {
    if (auto v = r_.get_number(f->at("confidence_quantile"), 0.0, 1.0)) checks.confidence_quantile = *v;
  }
}

void PolicyParser::check_prompt(const At& at, const std::string& prompt) {
  // RE2: std::regex overflowed the stack on a long "{{..." (fuzz/regressions/policy_yaml).
  static const RE2 kPlaceholder("\\{\\{\\s*([^}]*?)\\s*\\}\\}");
  bool has_input = false;
  bool has_examples = false;
  re2::StringPiece rest(prompt);
  std::string name;
  while (RE2::FindAndConsume(&rest, kPlaceholder, &name)) {
    if (name == "input") has_input = true;
    if (name == "examples") has_examples = true;
    if (!contains(kPlaceholders, name)) {
      r_.error(at.line, at.path, "unknown placeholder {{" + name + "}} (expected input, labels, examples or macros)");
    }
  }
  // Without {{input}} the prompt is a header: the examples and the input follow it.
  if (has_examples && !has_input)
    r_.error(at.line, at.path, "{{examples}} needs {{input}} (a prompt without {{input}} is a header)");
}

void PolicyParser::check_schema_at(const At& at, const nlohmann::json& schema) {
  for (const auto& problem : config_detail::check_schema(schema)) {
    r_.error(at.line, problem.path.empty() ? at.path : at.path + "." + problem.path, problem.what);
  }
}

void PolicyParser::parse_hard_stops(const At& at, HardStopConfig& config) {
  auto f = r_.fields(at, {"security", "access", "production"});
  if (!f) return;
  std::map<std::string, std::string> ids;  // id -> category
  if (f->count("security")) parse_rules(f->at("security"), "security", config.security, ids);
  if (f->count("access")) parse_rules(f->at("access"), "access", config.access, ids);
  if (f->count("production")) {
    parse_rules(f->at("production"), "production", config.production, ids);
  }
}

void PolicyParser::parse_evidence(const At& at, TaskConfig& task) {
  if (task.kind != TaskKind::kClassify) {
    r_.error(at.line, at.path, "only classify tasks take evidence (rules per label)");
    return;
  }
  auto entries = r_.entries(at);
  if (!entries) return;
  std::map<std::string, std::string> ids;  // rule id -> label
  for (const auto& [label, rules] : *entries) {
    if (!contains(task.labels, label)) {
      r_.error(rules.line, rules.path, "evidence label " + quote(label) + " is not in labels");
      continue;
    }
    parse_rules(rules, label, task.evidence[label], ids, "evidence", &task);
  }
}

void PolicyParser::parse_evidence_weight(const std::map<std::string, At>& f, const std::string& label,
                                         const std::string& id, TaskConfig& task) {
  EvidenceWeight weight;
  set_bool(f, "weak", weight.weak);
  if (f.count("outranks")) {
    const At& o = f.at("outranks");
    if (auto list = r_.get_string_list(o, false)) {
      for (const auto& other : *list) {
        if (!contains(task.labels, other)) {
          r_.error(o.line, o.path, "outranks label " + quote(other) + " is not in labels");
        } else if (other == label) {
          r_.error(o.line, o.path, "a rule cannot outrank its own label " + quote(label));
        } else if (contains(task.escalate_labels, other)) {
          // Evidence for a label that escalates always escalates; nothing explains it away.
          r_.error(o.line, o.path, "label " + quote(other) + " escalates: its evidence cannot be outranked");
        } else if (!contains(weight.outranks, other)) {
          weight.outranks.push_back(other);
        }
      }
    }
  }
  if (weight.weak || !weight.outranks.empty()) task.evidence_weights[id] = std::move(weight);
}

void PolicyParser::parse_rules(const At& at, const std::string& category, std::vector<HardStopRule>& out,
                               std::map<std::string, std::string>& ids, const std::string& what,
                               TaskConfig* evidence_of) {
  auto list = r_.items(at);
  if (!list) return;
  for (const auto& item : *list) {
    auto f = evidence_of ? r_.fields(item, {"id", "pattern", "weak", "outranks"}) : r_.fields(item, {"id", "pattern"});
    if (!f) continue;
    HardStopRule rule;
    bool ok = true;
    if (r_.require(*f, item, "id")) {
      const At& i = f->at("id");
      if (auto id = r_.get_string(i)) {
        auto [it, inserted] = ids.emplace(*id, category);
        if (!inserted) {
          r_.error(i.line, i.path, "duplicate " + what + " id " + quote(*id) + " (already used in " + it->second + ")");
          ok = false;
        }
        rule.id = *id;
      } else {
        ok = false;
      }
    } else {
      ok = false;
    }
    if (r_.require(*f, item, "pattern")) {
      const At& p = f->at("pattern");
      if (auto pattern = r_.get_string(p)) {
        RE2::Options options;
        options.set_case_sensitive(false);
        options.set_log_errors(false);
        RE2 re(*pattern, options);
        if (!re.ok()) {
          r_.error(p.line, p.path, "pattern of rule " + quote(rule.id) + " does not compile: " + re.error());
          ok = false;
        }
        rule.pattern = *pattern;
      } else {
        ok = false;
      }
    } else {
      ok = false;
    }
    if (ok && evidence_of) parse_evidence_weight(*f, category, rule.id, *evidence_of);
    if (ok) out.push_back(std::move(rule));
  }
}

void PolicyParser::parse_capabilities(const At& at, CapabilityConfig& caps) {
  auto f = r_.fields(at, {"privacy_forces_local", "max_context_tokens", "max_tool_chain"});
  if (!f) return;
  set_bool(*f, "privacy_forces_local", caps.privacy_forces_local);
  set_int(*f, "max_context_tokens", caps.max_context_tokens, 1);
  set_int(*f, "max_tool_chain", caps.max_tool_chain, 0);
}

void PolicyParser::parse_audit(const At& at, AuditConfig& audit) {
  auto f = r_.fields(at, {"jsonl", "store_raw_prompt", "preview_chars", "on_failure", "replay"});
  if (!f) return;
  if (f->count("replay")) config_detail::parse_replay(r_, f->at("replay"), audit);
  if (f->count("jsonl")) {
    if (auto p = r_.get_string(f->at("jsonl"))) audit.jsonl_path = resolve_path(base_dir_, *p);
  }
  set_bool(*f, "store_raw_prompt", audit.store_raw_prompt);
  set_int(*f, "preview_chars", audit.preview_chars, 0, 240);
  std::string on_failure = "open";
  set_string(*f, "on_failure", on_failure);
  if (on_failure == "open" || on_failure == "closed") {
    audit.fail_closed = on_failure == "closed";
  } else {
    r_.error(f->at("on_failure").line, f->at("on_failure").path,
             "expected one of open, closed, got " + quote(on_failure));
  }
}

void PolicyParser::parse_health(const At& at, HealthConfig& health) {
  auto f = r_.fields(at, {"failures_to_mark_down", "cooldown_ms"});
  if (!f) return;
  set_int(*f, "failures_to_mark_down", health.failures_to_mark_down, 1, 1000);
  set_int(*f, "cooldown_ms", health.cooldown_ms, 0, 3600000);
}

void PolicyParser::parse_store(const At& at, StoreConfig& store) {
  auto f = r_.fields(at, {"kind", "path", "dsn_env", "synchronous", "queue_capacity", "batch_size", "on_full",
                          "max_age_days", "max_rows", "max_size_mb"});
  if (!f) return;
  std::string kind = "sqlite";
  set_string(*f, "kind", kind);
  if (kind == "sqlite") {
    store.kind = StoreConfig::Kind::kSqlite;
  } else if (kind == "postgres") {
    store.kind = StoreConfig::Kind::kPostgres;
  } else if (kind == "jsonl") {
    store.kind = StoreConfig::Kind::kJsonl;
  } else {
    r_.error(f->at("kind").line, f->at("kind").path, "expected one of sqlite, postgres, jsonl, got " + quote(kind));
  }
  if (f->count("path")) {
    if (auto p = r_.get_string(f->at("path"))) store.path = resolve_path(base_dir_, *p);
  }
  if (store.kind == StoreConfig::Kind::kSqlite && store.path.empty()) store.path = resolve_path(base_dir_, "ladder.db");
  set_string(*f, "dsn_env", store.dsn_env);
  if (store.kind == StoreConfig::Kind::kPostgres && store.dsn_env.empty())
    r_.error(at.line, at.path, "a postgres store needs dsn_env (the environment variable with the connection string)");
  std::string sync = "full";
  set_string(*f, "synchronous", sync);
  if (sync == "full" || sync == "normal") {
    store.synchronous_full = sync == "full";
  } else {
    r_.error(f->at("synchronous").line, f->at("synchronous").path, "expected one of full, normal, got " + quote(sync));
  }
  std::string on_full = "block";
  set_string(*f, "on_full", on_full);
  if (on_full == "block" || on_full == "fail") {
    store.fail_when_full = on_full == "fail";
  } else {
    r_.error(f->at("on_full").line, f->at("on_full").path, "expected one of block, fail, got " + quote(on_full));
  }
  set_int(*f, "queue_capacity", store.queue_capacity, 1, 1 << 20);
  set_int(*f, "batch_size", store.batch_size, 1, 1 << 16);
  set_int(*f, "max_age_days", store.max_age_days, 0, 100000);
  set_int(*f, "max_rows", store.max_rows, 0);
  set_int(*f, "max_size_mb", store.max_size_mb, 0, 1 << 30);
}

void PolicyParser::parse_costs(const At& at, Config& config) {
  auto f = r_.fields(at, {"local_per_second", "models"});
  if (!f) return;
  if (f->count("local_per_second")) {
    if (auto v = r_.get_number(f->at("local_per_second"), 0.0, 1e6)) config.costs.local_per_second = *v;
  }
  if (!f->count("models")) return;
  auto list = r_.entries(f->at("models"));
  if (!list) return;
  for (const auto& [name, value] : *list) {
    if (!config.models.count(name)) {
      r_.error(value.line, value.path, "unknown model " + quote(name) + " (not under models:)");
      continue;
    }
    auto p = r_.fields(value, {"prompt_per_million", "completion_per_million"});
    if (!p) continue;
    CostConfig::Price price;
    if (p->count("prompt_per_million")) {
      if (auto v = r_.get_number(p->at("prompt_per_million"), 0.0, 1e6)) price.prompt_per_million = *v;
    }
    if (p->count("completion_per_million")) {
      if (auto v = r_.get_number(p->at("completion_per_million"), 0.0, 1e6)) price.completion_per_million = *v;
    }
    config.costs.models[name] = price;
  }
}

void PolicyParser::parse_release_gate(const At& at, ReleaseGateConfig& gate) {
  auto f = r_.fields(
      at, {"min_json_validity", "min_label_accuracy", "max_false_accepts", "min_local_acceptance", "max_ece"});
  if (!f) return;
  auto share = [&](const char* key, double& out) {
    if (f->count(key))
      if (auto v = r_.get_number(f->at(key), 0.0, 1.0)) out = *v;
  };
  share("min_json_validity", gate.min_json_validity);
  share("min_label_accuracy", gate.min_label_accuracy);
  share("min_local_acceptance", gate.min_local_acceptance);
  set_int(*f, "max_false_accepts", gate.max_false_accepts, 0);
  if (f->count("max_ece")) {
    if (auto v = r_.get_number(f->at("max_ece"), 0.0, 1.0)) gate.max_ece = *v;
  }
}

void PolicyParser::check_macro(const MacroConfig& macro, int line, const std::string& path) {
  for (const auto& problem : config_detail::check_macro_arguments(macro.input_schema, macro.irreversible_when))
    r_.error(line, path + "." + problem.path, problem.what);
}

void PolicyParser::parse_macros(const At& at, std::vector<MacroConfig>& out) {
  auto list = r_.items(at);
  if (!list) return;
  std::set<std::string> ids;
  for (const auto& item : *list) {
    auto f = r_.fields(item, {"id", "intent", "input_schema", "irreversible_when"});
    if (!f) continue;
    MacroConfig macro;
    bool ok = true;
    if (r_.require(*f, item, "id")) {
      const At& i = f->at("id");
      if (auto id = r_.get_string(i)) {
        if (!ids.insert(*id).second) {
          r_.error(i.line, i.path, "duplicate macro id " + quote(*id));
          ok = false;
        }
        macro.id = *id;
      } else {
        ok = false;
      }
    } else {
      ok = false;
    }
    if (r_.require(*f, item, "intent")) {
      if (auto intent = r_.get_string(f->at("intent")))
        macro.intent = *intent;
      else
        ok = false;
    } else {
      ok = false;
    }
    if (r_.require(*f, item, "input_schema")) {
      const At& s = f->at("input_schema");
      if (!s.node.IsMap()) {
        r_.error(s.line, s.path, "expected a mapping (a JSON Schema), got " + Reader::describe(s.node));
        ok = false;
      } else if (auto schema = r_.get_json(s)) {
        macro.input_schema = std::move(*schema);
      } else {
        ok = false;
      }
    } else {
      ok = false;
    }
    if (f->count("irreversible_when")) {
      const At& w = f->at("irreversible_when");
      if (!w.node.IsMap()) {
        r_.error(w.line, w.path, "expected a mapping of argument to value, got " + Reader::describe(w.node));
        ok = false;
      } else if (auto when = r_.get_json(w)) {
        macro.irreversible_when = std::move(*when);
      } else {
        ok = false;
      }
    }
    if (!ok) continue;
    check_macro(macro, item.line, item.path);
    out.push_back(std::move(macro));
  }
  if (list->empty()) r_.error(at.line, at.path, "expected at least one macro");
}

void PolicyParser::parse_macros_file(const At& at, std::vector<MacroConfig>& out) {
  auto rel = r_.get_string(at);
  if (!rel) return;
  std::string path = resolve_path(base_dir_, *rel);
  auto text = config_detail::read_config_file(path);
  if (!text.ok()) {
    r_.error(
        at.line, at.path, "cannot read macros file " + quote(path) + ": " + text.status().message(),
        text.status().code() == ErrorCode::kPayloadTooLarge ? ErrorCode::kPayloadTooLarge : ErrorCode::kConfigInvalid);
    return;
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    r_.error(at.line, at.path, quote(*rel) + " is not valid JSON: " + e.what(), ErrorCode::kParseError);
    return;
  }
  const std::string file_path = at.path + "(" + *rel + ")";
  if (!doc.is_object() || !doc.contains("macros") || !doc["macros"].is_array()) {
    r_.error(at.line, file_path, "expected a JSON object with a \"macros\" list");
    return;
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "macros" && key != "description") {
      r_.error(at.line, file_path + "." + key, "unknown key " + quote(key));
    }
  }
  std::set<std::string> ids;
  const auto& list = doc["macros"];
  if (list.empty()) r_.error(at.line, file_path + ".macros", "expected at least one macro");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& m = list[i];
    std::string path_i = file_path + ".macros[" + std::to_string(i) + "]";
    if (!m.is_object()) {
      r_.error(at.line, path_i, "expected an object");
      continue;
    }
    bool ok = true;
    for (const auto& [key, value] : m.items()) {
      if (key != "id" && key != "intent" && key != "input_schema" && key != "irreversible_when") {
        r_.error(at.line, path_i + "." + key, "unknown key " + quote(key));
        ok = false;
      }
    }
    MacroConfig macro;
    for (const char* key : {"id", "intent"}) {
      auto it = m.find(key);
      if (it == m.end() || !it->is_string() || it->get<std::string>().empty()) {
        r_.error(at.line, path_i + "." + key, "expected a non-empty string");
        ok = false;
        continue;
      }
      (std::string(key) == "id" ? macro.id : macro.intent) = it->get<std::string>();
    }
    if (!macro.id.empty() && !ids.insert(macro.id).second) {
      r_.error(at.line, path_i + ".id", "duplicate macro id " + quote(macro.id));
      ok = false;
    }
    if (auto it = m.find("input_schema"); it == m.end() || !it->is_object()) {
      r_.error(at.line, path_i + ".input_schema", "expected an object (a JSON Schema)");
      ok = false;
    } else {
      macro.input_schema = *it;
    }
    if (auto it = m.find("irreversible_when"); it != m.end()) {
      if (!it->is_object()) {
        r_.error(at.line, path_i + ".irreversible_when", "expected an object");
        ok = false;
      } else {
        macro.irreversible_when = *it;
      }
    }
    if (!ok) continue;
    check_macro(macro, at.line, path_i);
    out.push_back(std::move(macro));
  }
}

void PolicyParser::parse_macro_files(const At& at, Config& config) {
  auto list = r_.get_string_list(at, true);
  if (!list) return;
  if (list->empty()) r_.error(at.line, at.path, "expected at least one macro file");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string path = resolve_path(base_dir_, (*list)[i]);
    const std::string item_path = at.path + "[" + std::to_string(i) + "]";
    auto macro = load_macro_file(path);
    if (!macro.ok()) {
      // The macro file's own problems, each already "<file>:<line>: <path>: <what>".
      r_.error(at.line, item_path, "in " + quote((*list)[i]) + ":\n" + macro.status().message(), macro.status().code());
      continue;
    }
    const MacroDefinitionPtr& def = *macro;
    if (!ids.insert(def->id).second) {
      r_.error(at.line, item_path, "duplicate macro id " + quote(def->id));
      continue;
    }
    config.macro_definitions.push_back(def);
    if (def->status == MacroStatus::kActive) {
      config.macros.push_back(MacroConfig{def->id, def->intent, def->input_schema, def->irreversible_when});
    }
  }
}

void PolicyParser::check_macro_definitions(const At& at, const Config& config) {
  for (const auto& def : config.macro_definitions) {
    const std::string where = def->source_path + ": ";
    if (!def->successor.empty() && !config.find_macro_definition(def->successor)) {
      r_.error(at.line, at.path,
               where + "successor " + quote(def->successor) + " of " + quote(def->id) + " is not loaded");
    }
    if (def->status == MacroStatus::kRetired && !def->successor.empty()) {
      const MacroDefinition* next = config.find_macro_definition(def->successor);
      if (next && next->status == MacroStatus::kRetired && next->successor == def->id)
        r_.error(
            at.line, at.path,
            where + "retired macros " + quote(def->id) + " and " + quote(next->id) + " name each other as successor");
    }
    for_each_step(def->steps, [&](const MacroStep& step) {
      if (step.kind != MacroStep::Kind::kClassify) return;
      const TaskConfig* task = config.find_task(step.task);
      if (!task) {
        r_.error(at.line, at.path,
                 def->source_path + ":" + std::to_string(step.line) + ": step " + quote(step.id) +
                     " classifies with task " + quote(step.task) + ", which the policy does not define");
      } else if (task->kind != TaskKind::kClassify) {
        r_.error(at.line, at.path,
                 def->source_path + ":" + std::to_string(step.line) + ": step " + quote(step.id) +
                     " needs a classify task, " + quote(step.task) + " is not one");
      }
    });
  }
}

}  // namespace

nlohmann::json classify_output_schema(const std::vector<std::string>& labels) {
  return nlohmann::json{
      {"type", "object"},
      {"additionalProperties", false},
      {"required", nlohmann::json::array({"label"})},
      {"properties", {{"label", {{"type", "string"}, {"enum", nlohmann::json(labels)}}}}},
  };
}

Result<ConfigPtr> load_policy_yaml(std::string_view yaml, const std::string& source_name, const std::string& base_dir) {
  Reader reader(source_name);
  auto doc = config_detail::load_document(
      yaml, reader, "the policy is empty (expected a mapping with version, models, tiers, tasks)");
  if (!doc) return reader.status();
  auto config = std::make_shared<Config>();
  config->source_path = source_name;
  try {
    PolicyParser parser(reader, base_dir);
    At root{*doc, "", config_detail::line_of(*doc, 1)};
    parser.parse(root, *config);
  } catch (const YAML::Exception& e) {
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    reader.error(line, "(document)", std::string("unexpected YAML error: ") + e.what());
  }
  if (reader.has_errors()) return reader.status();
  return ConfigPtr(std::move(config));
}

Result<ConfigPtr> load_policy_file(const std::string& path) {
  auto text = config_detail::read_config_file(path);
  if (!text.ok()) return text.status();
  std::error_code ec;
  std::string base_dir = fs::absolute(fs::path(path), ec).parent_path().string();
  return load_policy_yaml(*text, path, base_dir);
}

}  // namespace ladder
