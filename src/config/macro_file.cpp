// Macro file parser. Like the policy loader it keeps going after a problem and reports
// every problem it found; yaml-cpp exceptions never leave this file.
#include "config/macro_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include "config/schema_check.h"
#include "config/yaml_reader.h"
#include "macros/expr.h"

namespace ladder {
namespace {

namespace fs = std::filesystem;
using config_detail::At;
using config_detail::quote;
using config_detail::Reader;
using nlohmann::json;

const std::vector<std::string> kTopKeys = {
    "id",           "intent",        "description",       "status", "successor", "migrate",
    "input_schema", "output_schema", "irreversible_when", "hosts",  "secrets",   "errors",
    "replaces",     "steps",         "fixtures"};
const std::vector<std::string> kStepCommon = {"id",         "description", "when",     "irreversible",
                                              "timeout_ms", "retry",       "on_status"};
const std::vector<std::string> kStepKinds = {"http", "foreach", "classify", "native", "map", "filter", "emit"};
const std::vector<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};
const std::vector<std::string> kFixtureKeys = {"name", "args", "approve", "now", "exchanges", "classify", "expect"};

class MacroParser {
 public:
  MacroParser(Reader& reader, std::string base_dir) : r_(reader), base_dir_(std::move(base_dir)) {}

  void parse(const At& root, MacroDefinition& macro);
  void parse_fixture(const At& at, MacroFixture& fixture);

 private:
  void parse_hosts(const At& at, MacroDefinition& macro);
  void parse_secrets(const At& at, MacroDefinition& macro);
  void parse_steps(const At& at, std::vector<MacroStep>& out, bool top_level);
  bool parse_step(const At& at, MacroStep& step);
  void parse_http(const At& at, MacroStep& step);
  void parse_fixtures(const At& at, MacroDefinition& macro);
  void check_step_refs(const std::vector<MacroStep>& steps, const std::string& path, const MacroDefinition& macro);
  void value_at(const At& at, json& out);
  void predicate_at(const At& at, json& out);
  std::optional<json> json_at(const At& at) { return r_.get_json(at); }

  Reader& r_;
  std::string base_dir_;
  std::set<std::string> step_ids_;
};

void MacroParser::value_at(const At& at, json& out) {
  auto v = json_at(at);
  if (!v) return;
  for (const auto& p : macros::check_value(*v))
    r_.error(at.line, p.path.empty() ? at.path : at.path + "." + p.path, p.what);
  out = std::move(*v);
}

void MacroParser::predicate_at(const At& at, json& out) {
  auto v = json_at(at);
  if (!v) return;
  for (const auto& p : macros::check_predicate(*v))
    r_.error(at.line, p.path.empty() ? at.path : at.path + "." + p.path, p.what);
  out = std::move(*v);
}

void MacroParser::parse(const At& root, MacroDefinition& macro) {
  auto f = r_.fields(root, kTopKeys);
  if (!f) return;
  if (r_.require(*f, root, "id")) {
    const At& at = f->at("id");
    if (auto id = r_.get_string(at)) {
      macro.id = *id;
      std::string family;
      int version = 0;
      if (!RE2::FullMatch(*id, R"(([a-z][a-z0-9_]*)_v([1-9][0-9]{0,3}))", &family, &version)) {
        r_.error(at.line, at.path,
                 "expected <name>_v<version> in lower case, such as repo_triage_v1, got " + quote(*id));
      } else {
        macro.family = family;
        macro.version = version;
      }
    }
  }
  if (r_.require(*f, root, "intent")) {
    if (auto v = r_.get_string(f->at("intent"))) macro.intent = *v;
  }
  if (f->count("description")) {
    if (auto v = r_.get_string(f->at("description"), true)) macro.description = *v;
  }
  if (f->count("status")) {
    const At& at = f->at("status");
    if (auto v = r_.get_string(at)) {
      if (*v == "active") {
        macro.status = MacroStatus::kActive;
      } else if (*v == "deprecated") {
        macro.status = MacroStatus::kDeprecated;
      } else if (*v == "retired") {
        macro.status = MacroStatus::kRetired;
      } else {
        r_.error(at.line, at.path, "expected one of active, deprecated, retired, got " + quote(*v));
      }
    }
  }
  if (f->count("successor")) {
    const At& at = f->at("successor");
    if (auto v = r_.get_string(at)) {
      macro.successor = *v;
      if (*v == macro.id) r_.error(at.line, at.path, "a macro cannot be its own successor");
    }
  }
  if (f->count("migrate")) {
    const At& at = f->at("migrate");
    if (!f->count("successor")) r_.error(at.line, at.path, "migrate needs a successor");
    if (!at.node.IsMap()) {
      r_.error(at.line, at.path, "expected a mapping of the successor's arguments, got " + Reader::describe(at.node));
    } else {
      value_at(at, macro.migrate);
    }
  }
  int schema_line = root.line, when_line = root.line;
  if (r_.require(*f, root, "input_schema")) {
    const At& at = f->at("input_schema");
    schema_line = at.line;
    if (!at.node.IsMap()) {
      r_.error(at.line, at.path, "expected a mapping (a JSON Schema), got " + Reader::describe(at.node));
    } else if (auto schema = json_at(at)) {
      macro.input_schema = std::move(*schema);
    }
  }
  if (f->count("output_schema")) {
    const At& at = f->at("output_schema");
    if (!at.node.IsMap()) {
      r_.error(at.line, at.path, "expected a mapping (a JSON Schema), got " + Reader::describe(at.node));
    } else if (auto schema = json_at(at)) {
      macro.output_schema = std::move(*schema);
      for (const auto& problem : config_detail::check_schema(macro.output_schema))
        r_.error(at.line, problem.path.empty() ? at.path : at.path + "." + problem.path, problem.what);
    }
  }
  if (f->count("irreversible_when")) {
    const At& at = f->at("irreversible_when");
    when_line = at.line;
    if (!at.node.IsMap()) {
      r_.error(at.line, at.path, "expected a mapping of argument to value, got " + Reader::describe(at.node));
    } else if (auto when = json_at(at)) {
      macro.irreversible_when = std::move(*when);
    }
  }
  for (const auto& problem : config_detail::check_macro_arguments(macro.input_schema, macro.irreversible_when)) {
    const bool on_when = problem.path.starts_with("irreversible_when");
    r_.error(on_when ? when_line : schema_line, problem.path, problem.what);
  }
  if (f->count("secrets")) parse_secrets(f->at("secrets"), macro);
  if (f->count("hosts")) parse_hosts(f->at("hosts"), macro);
  if (f->count("errors")) {
    const At& at = f->at("errors");
    if (auto list = r_.get_string_list(at, true)) {
      for (const auto& name : *list) {
        if (!RE2::FullMatch(name, "[a-z][a-z0-9_]*"))
          r_.error(at.line, at.path, "error state names are lower_snake_case, got " + quote(name));
      }
      macro.errors = *list;
    }
  }
  if (f->count("replaces")) {
    const At& at = f->at("replaces");
    if (auto list = r_.get_string_list(at, false)) {
      if (list->empty()) r_.error(at.line, at.path, "expected at least one tool name");
      macro.replaces = *list;
    }
  }
  if (r_.require(*f, root, "steps")) {
    const At& at = f->at("steps");
    parse_steps(at, macro.steps, true);
    check_step_refs(macro.steps, at.path, macro);
    if (!macro.steps.empty() && macro.steps.back().kind != MacroStep::Kind::kEmit)
      r_.error(at.line, at.path, "the last step must be emit (the macro's typed result)");
  }
  if (f->count("fixtures")) parse_fixtures(f->at("fixtures"), macro);
}

void MacroParser::parse_hosts(const At& at, MacroDefinition& macro) {
  auto entries = r_.entries(at);
  if (!entries) return;
  for (const auto& [name, h] : *entries) {
    auto f = r_.fields(h, {"base_url", "base_url_env", "headers", "auth", "circuit_breaker", "rate_limit"});
    if (!f) continue;
    MacroHost host;
    host.name = name;
    if (r_.require(*f, h, "base_url")) {
      const At& b = f->at("base_url");
      if (auto v = r_.get_string(b)) {
        host.base_url = *v;
        if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0)
          r_.error(b.line, b.path, "expected an http:// or https:// URL, got " + quote(*v));
        if (v->find('@') != std::string::npos) r_.error(b.line, b.path, "credentials do not belong in a URL");
      }
    }
    if (f->count("base_url_env")) {
      if (auto v = r_.get_string(f->at("base_url_env"))) host.base_url_env = *v;
    }
    if (f->count("headers")) {
      if (auto hs = r_.entries(f->at("headers"))) {
        for (const auto& [k, v] : *hs) {
          if (auto s = r_.get_string(v, true)) {
            if (s->find_first_of("\r\n") != std::string::npos)
              r_.error(v.line, v.path, "header values cannot hold line breaks");
            host.headers[k] = *s;
          }
        }
      }
    }
    if (f->count("auth")) {
      const At& a = f->at("auth");
      if (auto af = r_.fields(a, {"secret", "header", "prefix"})) {
        if (r_.require(*af, a, "secret")) {
          const At& s = af->at("secret");
          if (auto v = r_.get_string(s)) {
            host.auth_secret = *v;
            bool known = false;
            for (const auto& sec : macro.secrets) known = known || sec.name == *v;
            if (!known) r_.error(s.line, s.path, "unknown secret " + quote(*v) + " (declare it under secrets)");
          }
        }
        if (af->count("header")) {
          if (auto v = r_.get_string(af->at("header"))) host.auth_header = *v;
        }
        if (af->count("prefix")) {
          if (auto v = r_.get_string(af->at("prefix"), true)) host.auth_prefix = *v;
        }
      }
    }
    if (f->count("circuit_breaker")) {
      const At& c = f->at("circuit_breaker");
      if (auto cf = r_.fields(c, {"failures", "open_ms"})) {
        if (cf->count("failures")) {
          if (auto v = r_.get_int(cf->at("failures"), 1, 1000)) host.breaker_failures = static_cast<int>(*v);
        }
        if (cf->count("open_ms")) {
          if (auto v = r_.get_int(cf->at("open_ms"), 1, 3600000)) host.breaker_open_ms = static_cast<int>(*v);
        }
      }
    }
    if (f->count("rate_limit")) {
      const At& c = f->at("rate_limit");
      if (auto cf = r_.fields(c, {"max_wait_ms"})) {
        if (cf->count("max_wait_ms")) {
          if (auto v = r_.get_int(cf->at("max_wait_ms"), 0, 3600000))
            host.max_rate_limit_wait_ms = static_cast<int>(*v);
        }
      }
    }
    macro.hosts.push_back(std::move(host));
  }
}

void MacroParser::parse_secrets(const At& at, MacroDefinition& macro) {
  auto entries = r_.entries(at);
  if (!entries) return;
  for (const auto& [name, s] : *entries) {
    auto f = r_.fields(s, {"env", "file", "required"});
    if (!f) continue;
    MacroSecret secret;
    secret.name = name;
    if (f->count("env")) {
      if (auto v = r_.get_string(f->at("env"))) secret.env = *v;
    }
    if (f->count("file")) {
      if (auto v = r_.get_string(f->at("file"))) {
        fs::path p(*v);
        secret.file = (p.is_relative() ? fs::path(base_dir_) / p : p).lexically_normal().string();
      }
    }
    if (f->count("required")) {
      if (auto v = r_.get_bool(f->at("required"))) secret.required = *v;
    }
    if (secret.env.empty() && secret.file.empty()) r_.error(s.line, s.path, "a secret needs env or file");
    macro.secrets.push_back(std::move(secret));
  }
}

void MacroParser::parse_steps(const At& at, std::vector<MacroStep>& out, bool top_level) {
  auto list = r_.items(at);
  if (!list) return;
  if (list->empty()) r_.error(at.line, at.path, "expected at least one step");
  for (const auto& item : *list) {
    MacroStep step;
    if (parse_step(item, step)) out.push_back(std::move(step));
  }
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i].kind == MacroStep::Kind::kEmit)
      r_.error(out[i].line, at.path, "emit ends the pipeline; step " + quote(out[i + 1].id) + " after it never runs");
  }
  (void)top_level;
}

bool MacroParser::parse_step(const At& at, MacroStep& step) {
  std::vector<std::string> allowed = kStepCommon;
  allowed.insert(allowed.end(), kStepKinds.begin(), kStepKinds.end());
  auto f = r_.fields(at, allowed);
  if (!f) return false;
  step.line = at.line;
  bool ok = true;
  if (r_.require(*f, at, "id")) {
    const At& i = f->at("id");
    if (auto id = r_.get_string(i)) {
      step.id = *id;
      if (!RE2::FullMatch(*id, "[a-z][a-z0-9_]*")) {
        r_.error(i.line, i.path, "step ids are lower_snake_case, got " + quote(*id));
        ok = false;
      } else if (!step_ids_.insert(*id).second) {
        r_.error(i.line, i.path, "duplicate step id " + quote(*id));
        ok = false;
      }
    }
  }
  std::vector<std::string> kinds;
  for (const auto& k : kStepKinds)
    if (f->count(k)) kinds.push_back(k);
  if (kinds.size() != 1) {
    r_.error(at.line, at.path,
             kinds.empty() ? "a step needs one of http, foreach, classify, native, map, filter, emit"
                           : "a step has exactly one of http, foreach, classify, native, map, filter, emit");
    return false;
  }
  if (f->count("description")) {
    if (auto v = r_.get_string(f->at("description"), true)) step.description = *v;
  }
  if (f->count("when")) predicate_at(f->at("when"), step.when);
  if (f->count("irreversible")) {
    const At& irr = f->at("irreversible");
    if (irr.node.IsScalar()) {
      if (auto v = r_.get_bool(irr)) step.irreversible = *v;
    } else {
      predicate_at(irr, step.irreversible);
    }
  }
  if (f->count("timeout_ms")) {
    if (auto v = r_.get_int(f->at("timeout_ms"), 1, 600000)) step.timeout_ms = static_cast<int>(*v);
  }
  if (f->count("retry")) {
    const At& r = f->at("retry");
    if (auto rf = r_.fields(r, {"attempts", "backoff_ms", "max_backoff_ms"})) {
      if (rf->count("attempts")) {
        if (auto v = r_.get_int(rf->at("attempts"), 1, 10)) step.retry.attempts = static_cast<int>(*v);
      }
      if (rf->count("backoff_ms")) {
        if (auto v = r_.get_int(rf->at("backoff_ms"), 0, 60000)) step.retry.backoff_ms = static_cast<int>(*v);
      }
      if (rf->count("max_backoff_ms")) {
        if (auto v = r_.get_int(rf->at("max_backoff_ms"), 0, 600000)) step.retry.max_backoff_ms = static_cast<int>(*v);
      }
    }
  }
  if (f->count("on_status")) {
    if (auto entries = r_.entries(f->at("on_status"))) {
      for (const auto& [key, v] : *entries) {
        int code = 0;
        if (!RE2::FullMatch(key, "([1-5][0-9][0-9])", &code)) {
          r_.error(v.line, v.path, "expected an HTTP status code as the key, got " + quote(key));
          continue;
        }
        if (v.node.IsScalar()) {
          if (auto name = r_.get_string(v)) step.on_status[code] = *name;
        } else if (auto fv = r_.fields(v, {"result"})) {
          if (r_.require(*fv, v, "result")) {
            json result;
            value_at(fv->at("result"), result);
            step.on_status[code] = json{{"result", result}};
          }
        }
      }
    }
  }
  const std::string& kind = kinds[0];
  const At& body = f->at(kind);
  if (kind == "http") {
    step.kind = MacroStep::Kind::kHttp;
    parse_http(body, step);
  } else if (kind == "foreach" || kind == "map" || kind == "filter") {
    step.kind = kind == "foreach" ? MacroStep::Kind::kForeach
                                  : (kind == "map" ? MacroStep::Kind::kMap : MacroStep::Kind::kFilter);
    std::vector<std::string> keys = {"over", "as"};
    if (kind == "foreach") keys.insert(keys.end(), {"parallelism", "steps", "result"});
    if (kind == "map") keys.push_back("to");
    if (kind == "filter") keys.insert(keys.end(), {"where", "limit"});
    auto bf = r_.fields(body, keys);
    if (!bf) return false;
    if (r_.require(*bf, body, "over")) value_at(bf->at("over"), step.over);
    if (bf->count("as")) {
      const At& as = bf->at("as");
      if (auto v = r_.get_string(as)) {
        step.as = *v;
        if (!RE2::FullMatch(*v, "[a-z][a-z0-9_]*") || *v == "args" || *v == "steps" || *v == "now" || *v == "index")
          r_.error(as.line, as.path, "expected a lower_snake_case name other than args, steps, now, index");
      }
    }
    if (kind == "foreach") {
      if (bf->count("parallelism")) {
        if (auto v = r_.get_int(bf->at("parallelism"), 1, 16)) step.parallelism = static_cast<int>(*v);
      }
      if (r_.require(*bf, body, "steps")) parse_steps(bf->at("steps"), step.steps, false);
      if (bf->count("result")) value_at(bf->at("result"), step.result);
    }
    if (kind == "map" && r_.require(*bf, body, "to")) value_at(bf->at("to"), step.to);
    if (kind == "filter") {
      if (r_.require(*bf, body, "where")) predicate_at(bf->at("where"), step.where);
      if (bf->count("limit")) value_at(bf->at("limit"), step.limit);
    }
  } else if (kind == "classify") {
    step.kind = MacroStep::Kind::kClassify;
    auto bf = r_.fields(body, {"task", "input"});
    if (!bf) return false;
    if (r_.require(*bf, body, "task")) {
      if (auto v = r_.get_string(bf->at("task"))) step.task = *v;
    }
    if (r_.require(*bf, body, "input")) value_at(bf->at("input"), step.input);
  } else if (kind == "native") {
    step.kind = MacroStep::Kind::kNative;
    auto bf = r_.fields(body, {"handler", "input"});
    if (!bf) return false;
    if (r_.require(*bf, body, "handler")) {
      if (auto v = r_.get_string(bf->at("handler"))) step.handler = *v;
    }
    if (bf->count("input")) value_at(bf->at("input"), step.input);
  } else {
    step.kind = MacroStep::Kind::kEmit;
    value_at(body, step.value);
  }
  if (!f->count("timeout_ms") && step.kind == MacroStep::Kind::kForeach) step.timeout_ms = 120000;
  return ok;
}

void MacroParser::parse_http(const At& at, MacroStep& step) {
  auto f = r_.fields(at, {"host", "method", "path", "query", "headers", "body", "paginate", "pick"});
  if (!f) return;
  if (r_.require(*f, at, "host")) {
    if (auto v = r_.get_string(f->at("host"))) step.host = *v;
  }
  if (f->count("method")) {
    const At& m = f->at("method");
    if (auto v = r_.get_string(m)) {
      step.method = *v;
      if (std::find(kMethods.begin(), kMethods.end(), *v) == kMethods.end())
        r_.error(m.line, m.path, "expected one of GET, POST, PUT, PATCH, DELETE, got " + quote(*v));
    }
  }
  if (r_.require(*f, at, "path")) {
    const At& p = f->at("path");
    if (auto v = r_.get_string(p)) {
      step.path = *v;
      if (v->empty() || (*v)[0] != '/') r_.error(p.line, p.path, "expected a path that starts with /");
      if (v->find('?') != std::string::npos) r_.error(p.line, p.path, "put query parameters under query:");
      for (const auto& problem : macros::check_template(*v)) r_.error(p.line, p.path, problem.what);
    }
  }
  if (f->count("query")) {
    const At& q = f->at("query");
    if (!q.node.IsMap()) {
      r_.error(q.line, q.path, "expected a mapping of parameter to value, got " + Reader::describe(q.node));
    } else {
      value_at(q, step.query);
    }
  }
  if (f->count("headers")) {
    const At& h = f->at("headers");
    if (!h.node.IsMap()) {
      r_.error(h.line, h.path, "expected a mapping of header to value, got " + Reader::describe(h.node));
    } else {
      value_at(h, step.headers);
    }
  }
  if (f->count("body")) value_at(f->at("body"), step.body);
  if (f->count("paginate")) {
    const At& p = f->at("paginate");
    if (auto pf = r_.fields(p, {"max_pages", "max_items"})) {
      if (pf->count("max_pages")) {
        if (auto v = r_.get_int(pf->at("max_pages"), 1, 100)) step.max_pages = static_cast<int>(*v);
      } else {
        step.max_pages = 10;
      }
      if (pf->count("max_items")) value_at(pf->at("max_items"), step.max_items);
    }
  }
  if (f->count("pick")) {
    const At& p = f->at("pick");
    auto v = json_at(p);
    if (v) {
      auto check_ptr = [&](const json& ptr, const std::string& path) {
        if (!ptr.is_string() || (!ptr.get<std::string>().empty() && ptr.get<std::string>()[0] != '/'))
          r_.error(p.line, path, "expected a JSON Pointer such as /workflow_runs");
      };
      if (v->is_object()) {
        for (const auto& [k, ptr] : v->items()) check_ptr(ptr, p.path + "." + k);
      } else {
        check_ptr(*v, p.path);
      }
      step.pick = std::move(*v);
    }
  }
}

void MacroParser::check_step_refs(const std::vector<MacroStep>& steps, const std::string& path,
                                  const MacroDefinition& macro) {
  const auto& builtin = macro_builtin_errors();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const MacroStep& s = steps[i];
    std::string sp = path + "[" + std::to_string(i) + "]";
    if (s.kind == MacroStep::Kind::kHttp && !s.host.empty() && !macro.find_host(s.host))
      r_.error(s.line, sp + ".http.host", "unknown host " + quote(s.host) + " (declare it under hosts)");
    for (const auto& [code, target] : s.on_status) {
      if (!target.is_string()) continue;
      const std::string name = target.get<std::string>();
      bool declared = std::find(macro.errors.begin(), macro.errors.end(), name) != macro.errors.end() ||
                      std::find(builtin.begin(), builtin.end(), name) != builtin.end();
      if (!declared)
        r_.error(s.line, sp + ".on_status." + std::to_string(code),
                 "error state " + quote(name) + " is not declared under errors");
    }
    if (s.kind != MacroStep::Kind::kHttp && !s.on_status.empty())
      r_.error(s.line, sp + ".on_status", "on_status applies to http steps only");
    if (s.kind == MacroStep::Kind::kForeach) check_step_refs(s.steps, sp + ".foreach.steps", macro);
  }
}

void MacroParser::parse_fixture(const At& at, MacroFixture& fx) {
  auto f = r_.fields(at, kFixtureKeys);
  if (!f) return;
  fx.source = r_.source();
  fx.line = at.line;
  if (r_.require(*f, at, "name")) {
    if (auto v = r_.get_string(f->at("name"))) fx.name = *v;
  }
  if (r_.require(*f, at, "args")) {
    const At& a = f->at("args");
    if (!a.node.IsMap()) {
      r_.error(a.line, a.path, "expected a mapping of arguments, got " + Reader::describe(a.node));
    } else if (auto v = json_at(a)) {
      fx.args = std::move(*v);
    }
  }
  if (f->count("approve")) {
    if (auto v = r_.get_bool(f->at("approve"))) fx.approve = *v;
  }
  if (f->count("now")) {
    const At& n = f->at("now");
    if (auto v = r_.get_string(n)) {
      long long s = 0;
      if (!macros::parse_timestamp(*v, s))
        r_.error(n.line, n.path, "expected an RFC 3339 time such as 2026-11-01T00:00:00Z");
      fx.now = *v;
    }
  }
  if (f->count("exchanges")) {
    const At& e = f->at("exchanges");
    if (auto items = r_.items(e)) {
      for (const auto& item : *items) {
        auto ef = r_.fields(item, {"request", "response"});
        if (!ef) continue;
        if (!r_.require(*ef, item, "request") || !r_.require(*ef, item, "response")) continue;
        auto rq = r_.fields(ef->at("request"), {"method", "url", "body"});
        auto rs = r_.fields(ef->at("response"), {"status", "headers", "body"});
        if (!rq || !rs) continue;
        json ex{{"request", json::object()}, {"response", json::object()}};
        if (r_.require(*rq, ef->at("request"), "method")) {
          if (auto v = r_.get_string(rq->at("method"))) ex["request"]["method"] = *v;
        }
        if (r_.require(*rq, ef->at("request"), "url")) {
          if (auto v = r_.get_string(rq->at("url"))) ex["request"]["url"] = *v;
        }
        if (rq->count("body")) {
          if (auto v = json_at(rq->at("body"))) ex["request"]["body"] = *v;
        }
        if (r_.require(*rs, ef->at("response"), "status")) {
          if (auto v = r_.get_int(rs->at("status"), 100, 599)) ex["response"]["status"] = *v;
        }
        ex["response"]["headers"] = json::object();
        if (rs->count("headers")) {
          if (auto hs = r_.entries(rs->at("headers"))) {
            for (const auto& [k, v] : *hs) {
              if (auto s = r_.get_string(v, true)) ex["response"]["headers"][k] = *s;
            }
          }
        }
        if (rs->count("body")) {
          if (auto v = json_at(rs->at("body"))) ex["response"]["body"] = *v;
        }
        fx.exchanges.push_back(std::move(ex));
      }
    }
  }
  if (f->count("classify")) {
    const At& c = f->at("classify");
    if (auto items = r_.items(c)) {
      for (const auto& item : *items) {
        auto cf = r_.fields(item, {"task", "input", "result"});
        if (!cf) continue;
        json entry = json::object();
        for (const char* key : {"task", "input"}) {
          if (r_.require(*cf, item, key)) {
            if (auto v = r_.get_string(cf->at(key), true)) entry[key] = *v;
          }
        }
        if (r_.require(*cf, item, "result")) {
          if (auto v = json_at(cf->at("result"))) entry["result"] = *v;
        }
        fx.classify.push_back(std::move(entry));
      }
    }
  }
  if (r_.require(*f, at, "expect")) {
    const At& e = f->at("expect");
    auto ef = r_.fields(e, {"status", "result", "error", "writes"});
    if (ef && r_.require(*ef, e, "status")) {
      const At& s = ef->at("status");
      if (auto v = r_.get_string(s)) {
        if (*v != "ok" && *v != "approval_required" && *v != "error")
          r_.error(s.line, s.path, "expected one of ok, approval_required, error, got " + quote(*v));
      }
      if (auto v = json_at(e)) fx.expect = std::move(*v);
    }
  }
}

void MacroParser::parse_fixtures(const At& at, MacroDefinition& macro) {
  auto items = r_.items(at);
  if (!items) return;
  std::set<std::string> names;
  for (const auto& item : *items) {
    MacroFixture fx;
    if (item.node.IsMap() && item.node["file"]) {
      auto ff = r_.fields(item, {"file"});
      if (!ff) continue;
      auto rel = r_.get_string(ff->at("file"));
      if (!rel) continue;
      fs::path p(*rel);
      std::string path = (p.is_relative() ? fs::path(base_dir_) / p : p).lexically_normal().string();
      auto loaded = load_fixture_file(path);
      if (!loaded.ok()) {
        r_.error(item.line, item.path + ".file", loaded.status().message(), loaded.status().code());
        continue;
      }
      fx = std::move(*loaded);
    } else {
      parse_fixture(item, fx);
    }
    if (!fx.name.empty() && !names.insert(fx.name).second)
      r_.error(item.line, item.path + ".name", "duplicate fixture name " + quote(fx.name));
    macro.fixtures.push_back(std::move(fx));
  }
}

template <typename Fn>
Status parse_document(std::string_view yaml, Reader& reader, std::string_view empty_message, Fn&& fn) {
  auto doc = config_detail::load_document(yaml, reader, empty_message);
  if (!doc) return reader.status();
  try {
    At root{*doc, "", config_detail::line_of(*doc, 1)};
    fn(root);
  } catch (const YAML::Exception& e) {
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    reader.error(line, "(document)", std::string("unexpected YAML error: ") + e.what());
  }
  return reader.has_errors() ? reader.status() : Status();
}

}  // namespace

const std::vector<std::string>& macro_builtin_errors() {
  static const std::vector<std::string> kErrors = {
      "invalid_arguments", "template_error",  "unauthorized",     "forbidden",      "not_found",
      "conflict",          "invalid_request", "rate_limited",     "upstream_error", "bad_response",
      "timeout",           "unavailable",     "connection_reset", "circuit_open",   "secret_missing",
      "classify_failed",   "native_failed",   "output_invalid",   "macro_retired",  "unknown_macro"};
  return kErrors;
}

Result<MacroDefinitionPtr> load_macro_yaml(std::string_view yaml, const std::string& source_name,
                                           const std::string& base_dir) {
  Reader reader(source_name);
  auto macro = std::make_shared<MacroDefinition>();
  macro->source_path = source_name;
  Status st =
      parse_document(yaml, reader, "the macro file is empty (expected a mapping with id, intent, input_schema, steps)",
                     [&](const At& root) {
                       MacroParser parser(reader, base_dir);
                       parser.parse(root, *macro);
                     });
  if (!st.ok()) return st;
  return MacroDefinitionPtr(std::move(macro));
}

Result<MacroDefinitionPtr> load_macro_file(const std::string& path) {
  auto text = config_detail::read_config_file(path);
  if (!text.ok()) return text.status();
  std::error_code ec;
  return load_macro_yaml(*text, path, fs::absolute(fs::path(path), ec).parent_path().string());
}

Result<MacroFixture> load_fixture_file(const std::string& path) {
  auto text = config_detail::read_config_file(path);
  if (!text.ok()) return text.status();
  Reader reader(path);
  MacroFixture fixture;
  Status st = parse_document(*text, reader, "the fixture file is empty", [&](const At& root) {
    MacroParser parser(reader, "");
    parser.parse_fixture(root, fixture);
  });
  if (!st.ok()) return st;
  return fixture;
}

}  // namespace ladder
