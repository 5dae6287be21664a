#include "macros/runner.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include <re2/re2.h>

#include "audit/redact.h"
#include "macros/expr.h"
#include "validators/json_schema.h"

namespace ladder::macros {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const char* kind_name(MacroStep::Kind kind) {
  switch (kind) {
    case MacroStep::Kind::kHttp:
      return "http";
    case MacroStep::Kind::kForeach:
      return "foreach";
    case MacroStep::Kind::kClassify:
      return "classify";
    case MacroStep::Kind::kNative:
      return "native";
    case MacroStep::Kind::kMap:
      return "map";
    case MacroStep::Kind::kFilter:
      return "filter";
    case MacroStep::Kind::kEmit:
      return "emit";
  }
  return "?";
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string now_rfc3339() {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return format_timestamp(secs.count());
}

// Does the expression read only the arguments (and the clock)? Then it can be decided
// before the run starts.
bool reads_only_args(const json& expr) {
  if (expr.is_string()) {
    const std::string& s = expr.get_ref<const std::string&>();
    std::size_t pos = 0;
    while ((pos = s.find("{{", pos)) != std::string::npos) {
      std::size_t start = s.find_first_not_of("{&# ^/", pos);
      if (start == std::string::npos) return false;
      if (s.compare(start, 5, "args.") != 0 && s.compare(start, 3, "now") != 0) return false;
      pos = start;
    }
    return true;
  }
  if (expr.is_array()) {
    for (const auto& v : expr)
      if (!reads_only_args(v)) return false;
    return true;
  }
  if (expr.is_object()) {
    for (const auto& [k, v] : expr.items()) {
      if (k == "ref") {
        if (!v.is_string()) return false;
        const std::string& p = v.get_ref<const std::string&>();
        if (p.rfind("/args", 0) != 0 && p != "/now") return false;
        continue;
      }
      if (!reads_only_args(v)) return false;
    }
  }
  return true;
}

// true, false, or nullopt when it depends on what the run finds.
std::optional<bool> decide_early(const json& predicate, const json& args_scope) {
  if (predicate.is_null()) return true;
  if (!reads_only_args(predicate)) return std::nullopt;
  auto r = eval_predicate(predicate, args_scope);
  if (!r.ok()) return std::nullopt;
  return *r;
}

void collect_irreversible(const std::vector<MacroStep>& steps, const json& scope, bool reachable,
                          std::vector<std::string>& out) {
  for (const auto& step : steps) {
    auto when = decide_early(step.when, scope);
    bool may_run = reachable && when.value_or(true);
    if (!may_run) continue;
    auto irr = decide_early(step.irreversible, scope);
    if (irr.value_or(true) && !(step.irreversible.is_boolean() && !step.irreversible.get<bool>()))
      out.push_back(step.id);
    if (step.kind == MacroStep::Kind::kForeach) collect_irreversible(step.steps, scope, may_run, out);
  }
}

std::string header_lower(const http::Response& r, const char* name) { return r.header(name).value_or(""); }

// GitHub's and RFC 6585's ways of saying "wait": Retry-After (seconds), or a primary rate
// limit (x-ratelimit-remaining: 0 with x-ratelimit-reset in epoch seconds). -1: none.
long long retry_after_ms(const http::Response& r, long long now_s) {
  std::string ra = header_lower(r, "retry-after");
  if (!ra.empty()) {
    char* end = nullptr;
    long long s = std::strtoll(ra.c_str(), &end, 10);
    if (end && *end == '\0' && s >= 0) return s * 1000;
  }
  if (header_lower(r, "x-ratelimit-remaining") == "0") {
    std::string reset = header_lower(r, "x-ratelimit-reset");
    char* end = nullptr;
    long long at = std::strtoll(reset.c_str(), &end, 10);
    if (!reset.empty() && end && *end == '\0') {
      return std::max(0LL, at - now_s) * 1000 + 1000;
    }
  }
  return -1;
}

bool is_rate_limited(const http::Response& r) {
  if (r.status == 429) return true;
  if (r.status != 403) return false;
  return !header_lower(r, "retry-after").empty() || header_lower(r, "x-ratelimit-remaining") == "0";
}

std::string default_reason(int status) {
  switch (status) {
    case 400:
      return "invalid_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
    case 410:
      return "not_found";
    case 409:
      return "conflict";
    case 422:
      return "invalid_request";
    case 429:
      return "rate_limited";
    default:
      return status >= 500 ? "upstream_error" : "invalid_request";
  }
}

std::string transport_reason(ErrorCode code) {
  switch (code) {
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kConnectionReset:
      return "connection_reset";
    case ErrorCode::kBadResponse:
      return "bad_response";
    case ErrorCode::kNotFound:  // replay: nothing recorded
      return "unavailable";
    default:
      return "unavailable";
  }
}

// Link: <https://api.github.com/...&page=2>; rel="next", <...>; rel="last"
std::string next_link(const http::Response& r) {
  std::string link = header_lower(r, "link");
  static const RE2 kNext(R"(<([^>]+)>\s*;\s*rel="?next"?)");
  std::string url;
  if (RE2::PartialMatch(link, kNext, &url)) return url;
  return "";
}

std::string origin_of(const std::string& url) {
  auto u = http::parse_url(url);
  return u.ok() ? u->scheme + "://" + u->host + ":" + u->port : "";
}

std::string query_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ",") + query_value(x);
    return out;
  }
  return v.dump();
}

// Message text from an upstream error body (GitHub: {"message": ...}), kept short.
std::string upstream_message(const std::string& body) {
  try {
    json j = json::parse(body);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  } catch (const json::exception&) {
  }
  return body.substr(0, 200);
}

}  // namespace

std::string read_secret(const MacroSecret& secret) {
  if (!secret.env.empty()) {
    if (const char* v = std::getenv(secret.env.c_str()); v && *v) return v;
  }
  if (!secret.file.empty()) {
    std::ifstream in(secret.file);
    std::string line;
    if (in && std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      return line;
    }
  }
  return "";
}

struct Runner::RunState {
  const MacroDefinition* macro = nullptr;
  RunOptions options;
  bool plan_only = false;                            // writes are planned, not sent
  std::map<std::string, std::string> secret_values;  // name -> value
  std::map<std::string, std::string> base_urls;      // host -> base URL
  std::mutex mu;                                     // guards trace, error, unapproved
  std::vector<TraceEntry> trace;
  std::optional<MacroError> error;
  bool unapproved = false;       // an irreversible step was planned instead of run
  long long clock_offset_s = 0;  // the run's clock minus the system clock (fixture replay)
  // Seconds since the epoch on the run's clock (rate-limit resets are read against it).
  long long clock_s() const {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
               .count() +
           clock_offset_s;
  }
  std::atomic<bool> stop{false};

  void fail(MacroError e) {
    std::lock_guard<std::mutex> lock(mu);
    if (!error) error = std::move(e);
    stop = true;
  }
  void add(TraceEntry t) {
    std::lock_guard<std::mutex> lock(mu);
    trace.push_back(std::move(t));
  }
  // Secret values never leave in messages.
  std::string scrub(std::string text) const {
    for (const auto& [name, value] : secret_values) {
      if (value.size() < 4) continue;
      std::size_t pos = 0;
      while ((pos = text.find(value, pos)) != std::string::npos) {
        text.replace(pos, value.size(), "[secret:" + name + "]");
        pos += name.size() + 9;
      }
    }
    return text;
  }
};

json RunOutcome::to_json() const {
  json t = json::array();
  for (const auto& e : trace) {
    json j{{"step", e.step}, {"kind", e.kind}, {"outcome", e.outcome}, {"ms", std::round(e.ms * 10) / 10}};
    if (!e.method.empty()) {
      j["method"] = e.method;
      j["url"] = e.url;
      j["status"] = e.status;
      j["attempts"] = e.attempts;
    }
    if (e.irreversible) j["irreversible"] = true;
    if (!e.body.is_null()) j["body"] = e.body;
    if (!e.detail.empty()) j["detail"] = e.detail;
    t.push_back(std::move(j));
  }
  json out{{"requested", requested}, {"macro", macro}, {"status", status},     {"args", args},
           {"result", result},       {"trace", t},     {"warnings", warnings}, {"ms", std::round(ms * 10) / 10}};
  if (!irreversible_steps.empty()) out["irreversible_steps"] = irreversible_steps;
  if (error) {
    json e{{"step", error->step}, {"reason", error->reason}, {"message", error->message}};
    if (error->http_status) e["http_status"] = error->http_status;
    if (error->retry_after_ms >= 0) e["retry_after_ms"] = error->retry_after_ms;
    out["error"] = e;
  }
  return out;
}

std::string route_macro_task(const Config& config, const std::string& wanted) {
  if (!wanted.empty()) return wanted;
  for (const auto& [name, task] : config.tasks)
    if (task.kind == TaskKind::kRouteMacro) return name;
  return "";
}

std::optional<MacroChoice> chosen_macro(const Decision& d) {
  if (d.route == "local" && !d.macro.empty()) return MacroChoice{d.macro, d.args};
  if (d.route == "frontier" && d.frontier_ok && d.answer.is_object() && d.answer.contains("macro") &&
      d.answer["macro"].is_string() && d.answer["macro"] != "none")
    return MacroChoice{d.answer["macro"].get<std::string>(), d.answer.value("args", json::object())};
  return std::nullopt;
}

json macro_audit_record(const RunOutcome& outcome, const std::string& decision_id) {
  json steps = json::array();
  for (const auto& t : outcome.trace) {
    json j{{"step", t.step}, {"kind", t.kind}, {"outcome", t.outcome}, {"ms", std::round(t.ms * 10) / 10}};
    if (!t.method.empty()) {
      j["method"] = t.method;
      j["url"] = redact_secrets(t.url);
      j["status"] = t.status;
    }
    steps.push_back(std::move(j));
  }
  const std::string result_text = outcome.result.dump(-1, ' ', false, json::error_handler_t::replace);
  json rec{{"kind", "macro_run"},
           {"ts", now_rfc3339()},
           {"decision_id", decision_id},
           {"requested", outcome.requested},
           {"macro", outcome.macro},
           {"status", outcome.status},
           {"args", json::parse(redact_secrets(outcome.args.dump(-1, ' ', false, json::error_handler_t::replace)),
                                nullptr, false)},
           {"result_sha256", sha256_hex(result_text)},
           {"result_preview", redact_secrets(result_text.substr(0, 240))},
           {"steps", steps},
           {"warnings", outcome.warnings},
           {"ms", std::round(outcome.ms * 10) / 10}};
  if (!outcome.irreversible_steps.empty()) rec["irreversible_steps"] = outcome.irreversible_steps;
  if (outcome.error)
    rec["error"] = {{"step", outcome.error->step},
                    {"reason", outcome.error->reason},
                    {"message", redact_secrets(outcome.error->message)}};
  return rec;
}

Runner::Runner(std::shared_ptr<Transport> transport, NativeRegistry natives, ClassifyFn classify, SecretReader secrets)
    : transport_(std::move(transport)),
      natives_(std::move(natives)),
      classify_(std::move(classify)),
      secrets_(std::move(secrets)) {}

Status Runner::check(const Config& config) const {
  std::string problems;
  for (const auto& def : config.macro_definitions) {
    for_each_step(def->steps, [&](const MacroStep& step) {
      if (step.kind == MacroStep::Kind::kNative && !natives_.find(step.handler)) {
        problems += (problems.empty() ? "" : "\n") + def->source_path + ":" + std::to_string(step.line) + ": step " +
                    step.id + ": no native handler named \"" + step.handler + "\" is registered";
      }
    });
  }
  if (problems.empty()) return Status();
  return make_error(ErrorCode::kConfigInvalid, problems);
}

std::vector<std::string> Runner::irreversible_steps(const MacroDefinition& macro, const json& args,
                                                    const std::string& now) {
  json scope{{"args", args}, {"now", now.empty() ? now_rfc3339() : now}};
  std::vector<std::string> out;
  bool whole = !macro.irreversible_when.empty();
  for (const auto& [k, v] : macro.irreversible_when.items()) whole = whole && args.contains(k) && args[k] == v;
  if (whole) out.push_back("(macro: irreversible_when)");
  collect_irreversible(macro.steps, scope, true, out);
  return out;
}

RunOutcome Runner::run(const Config& config, const std::string& id, const json& args_in, const RunOptions& options) {
  auto start = Clock::now();
  RunOutcome out;
  out.requested = id;
  out.macro = id;
  out.args = args_in;
  auto fail = [&](const std::string& reason, const std::string& message) {
    out.status = "error";
    out.error = MacroError{"", reason, message};
    out.ms = ms_since(start);
    return out;
  };
  const MacroDefinition* macro = config.find_macro_definition(id);
  if (!macro) {
    if (config.find_macro(id))
      return fail("unknown_macro", "macro " + id + " is routable but has no pipeline (no macro file)");
    return fail("unknown_macro", "no macro named " + id);
  }
  json args = args_in.is_null() ? json::object() : args_in;
  // Versions: deprecated warns; retired moves to its successor, migrating the arguments.
  for (int hops = 0; macro->status != MacroStatus::kActive && hops < 8; ++hops) {
    if (macro->status == MacroStatus::kDeprecated) {
      out.warnings.push_back("macro " + macro->id + " is deprecated" +
                             (macro->successor.empty() ? "" : "; use " + macro->successor));
      break;
    }
    if (macro->successor.empty())
      return fail("macro_retired", "macro " + macro->id + " is retired and has no successor");
    json migrated = args;
    if (!macro->migrate.is_null()) {
      auto m = eval_value(macro->migrate, json{{"args", apply_schema_defaults(macro->input_schema, args)}});
      if (!m.ok())
        return fail("macro_retired", "macro " + macro->id + " is retired; migrating its arguments to " +
                                         macro->successor + " failed: " + m.status().message());
      migrated = std::move(*m);
    }
    const MacroDefinition* next = config.find_macro_definition(macro->successor);
    if (!next)
      return fail("macro_retired",
                  "macro " + macro->id + " is retired; its successor " + macro->successor + " is not loaded");
    out.warnings.push_back("macro " + macro->id + " is retired; ran " + next->id + " with migrated arguments");
    macro = next;
    args = std::move(migrated);
  }
  out.macro = macro->id;
  if (!args.is_object()) return fail("invalid_arguments", "arguments must be a JSON object");
  args = apply_schema_defaults(macro->input_schema, args);
  out.args = args;
  if (Status st = validate_json_schema(macro->input_schema, args); !st.ok())
    return fail("invalid_arguments", st.message());

  RunState st;
  st.macro = macro;
  st.options = options;
  if (st.options.now.empty()) {
    st.options.now = now_rfc3339();
  } else if (long long at = 0; parse_timestamp(st.options.now, at)) {
    st.clock_offset_s = at - st.clock_s();
  }
  for (const auto& secret : macro->secrets) {
    std::string value = secrets_(secret);
    if (value.empty() && secret.required)
      return fail("secret_missing", "secret " + secret.name + " is not set (" +
                                        (secret.env.empty() ? "file " + secret.file : "environment " + secret.env) +
                                        ")");
    if (!value.empty()) st.secret_values[secret.name] = value;
  }
  for (const auto& host : macro->hosts) {
    std::string base = host.base_url;
    if (!host.base_url_env.empty()) {
      if (const char* v = std::getenv(host.base_url_env.c_str()); v && *v) base = v;
    }
    while (!base.empty() && base.back() == '/') base.pop_back();
    st.base_urls[host.name] = base;
  }
  out.irreversible_steps = irreversible_steps(*macro, args, st.options.now);
  if (options.dry_run) {
    st.plan_only = true;
  } else if (!out.irreversible_steps.empty() && !options.approve) {
    st.plan_only = true;
    st.unapproved = true;
  }

  json scope{{"args", args}, {"steps", json::object()}, {"now", st.options.now}};
  json emitted;
  run_steps(macro->steps, scope, st, "", &emitted);
  out.trace = std::move(st.trace);
  for (auto& t : out.trace) t.detail = st.scrub(t.detail);
  if (st.error) {
    out.status = "error";
    st.error->message = st.scrub(st.error->message);
    out.error = std::move(st.error);
  } else {
    if (!macro->output_schema.is_null() && !st.plan_only) {
      if (Status v = validate_json_schema(macro->output_schema, emitted); !v.ok()) {
        out.status = "error";
        out.error = MacroError{"", "output_invalid", v.message()};
        out.ms = ms_since(start);
        return out;
      }
    }
    out.result = std::move(emitted);
    out.status = st.unapproved ? "approval_required" : (options.dry_run ? "dry_run" : "ok");
    if (!st.unapproved) out.irreversible_steps.clear();
  }
  out.ms = ms_since(start);
  return out;
}

bool Runner::run_steps(const std::vector<MacroStep>& steps, json& scope, RunState& st, const std::string& prefix,
                       json* emitted) {
  for (const auto& step : steps) {
    if (st.stop) return false;
    const std::string name = prefix.empty() ? step.id : prefix + "." + step.id;
    auto when = eval_predicate(step.when, scope);
    if (!when.ok()) {
      st.fail({name, "template_error", "when: " + when.status().message()});
      return false;
    }
    if (!*when) {
      scope["steps"][step.id] = nullptr;
      st.add(TraceEntry{name, kind_name(step.kind), "skipped"});
      continue;
    }
    json result;
    if (!run_step(step, scope, st, name, result)) return false;
    if (step.kind == MacroStep::Kind::kEmit && emitted) *emitted = result;
    scope["steps"][step.id] = std::move(result);
  }
  return true;
}

bool Runner::run_step(const MacroStep& step, json& scope, RunState& st, const std::string& name, json& result) {
  auto start = Clock::now();
  auto expr_fail = [&](const std::string& what, const Status& s) {
    st.fail({name, "template_error", what + ": " + s.message()});
    st.add(TraceEntry{name, kind_name(step.kind), "error", "", "", 0, 0, ms_since(start), false, nullptr, s.message()});
    return false;
  };
  switch (step.kind) {
    case MacroStep::Kind::kHttp:
      return run_http(step, scope, st, name, result);
    case MacroStep::Kind::kForeach:
      return run_foreach(step, scope, st, name, result);
    case MacroStep::Kind::kEmit: {
      auto v = eval_value(step.value, scope);
      if (!v.ok()) return expr_fail("emit", v.status());
      result = std::move(*v);
      st.add(TraceEntry{name, "emit", "ok", "", "", 0, 0, ms_since(start)});
      return true;
    }
    case MacroStep::Kind::kClassify: {
      auto input = eval_value(step.input, scope);
      if (!input.ok()) return expr_fail("classify input", input.status());
      std::string text = input->is_string() ? input->get<std::string>() : input->dump();
      if (!classify_) {
        st.fail({name, "classify_failed", "no router to classify with"});
        return false;
      }
      auto r = classify_(step.task, text);
      if (!r.ok()) {
        st.fail({name, "classify_failed", r.status().message()});
        st.add(
            TraceEntry{name, "classify", "error", "", "", 0, 0, ms_since(start), false, nullptr, r.status().message()});
        return false;
      }
      result = std::move(*r);
      std::string detail =
          "task " + step.task + ": label " +
          (result.value("label", json()).is_string() ? result["label"].get<std::string>() : std::string("none")) +
          ", route " + result.value("route", std::string("?"));
      st.add(TraceEntry{name, "classify", "ok", "", "", 0, 0, ms_since(start), false, nullptr, detail});
      return true;
    }
    case MacroStep::Kind::kNative: {
      auto input = eval_value(step.input, scope);
      if (!input.ok()) return expr_fail("native input", input.status());
      const NativeHandler* handler = natives_.find(step.handler);
      if (!handler) {
        st.fail({name, "native_failed", "no native handler named " + step.handler});
        return false;
      }
      Result<json> r = make_error(ErrorCode::kInternal, "handler threw");
      try {
        r = (*handler)(*input, NativeContext{st.macro->id, step.id, st.options.now});
      } catch (const std::exception& e) {
        r = make_error(ErrorCode::kInternal, std::string("handler threw: ") + e.what());
      }
      if (!r.ok()) {
        st.fail({name, "native_failed", step.handler + ": " + r.status().message()});
        st.add(
            TraceEntry{name, "native", "error", "", "", 0, 0, ms_since(start), false, nullptr, r.status().message()});
        return false;
      }
      result = std::move(*r);
      st.add(TraceEntry{name, "native", "ok", "", "", 0, 0, ms_since(start)});
      return true;
    }
    case MacroStep::Kind::kMap:
    case MacroStep::Kind::kFilter: {
      auto over = eval_value(step.over, scope);
      if (!over.ok()) return expr_fail("over", over.status());
      if (over->is_null()) *over = json::array();
      if (!over->is_array())
        return expr_fail(
            "over", make_error(ErrorCode::kInvalidArgument, "expected a list, got " + std::string(over->type_name())));
      std::optional<std::size_t> limit;
      if (!step.limit.is_null()) {
        auto l = eval_value(step.limit, scope);
        if (!l.ok()) return expr_fail("limit", l.status());
        if (!l->is_number_integer() || l->get<long long>() < 0)
          return expr_fail("limit", make_error(ErrorCode::kInvalidArgument, "expected a non-negative integer"));
        limit = l->get<std::size_t>();
      }
      result = json::array();
      json item_scope = scope;
      for (std::size_t i = 0; i < over->size(); ++i) {
        if (limit && result.size() >= *limit) break;
        item_scope[step.as] = (*over)[i];
        item_scope["index"] = i;
        if (step.kind == MacroStep::Kind::kMap) {
          auto v = eval_value(step.to, item_scope);
          if (!v.ok()) return expr_fail("to (item " + std::to_string(i) + ")", v.status());
          result.push_back(std::move(*v));
        } else {
          auto keep = eval_predicate(step.where, item_scope);
          if (!keep.ok()) return expr_fail("where (item " + std::to_string(i) + ")", keep.status());
          if (*keep) result.push_back((*over)[i]);
        }
      }
      st.add(TraceEntry{name, kind_name(step.kind), "ok", "", "", 0, 0, ms_since(start), false, nullptr,
                        std::to_string(over->size()) + " in, " + std::to_string(result.size()) + " out"});
      return true;
    }
  }
  return false;
}

bool Runner::run_foreach(const MacroStep& step, const json& scope, RunState& st, const std::string& name,
                         json& result) {
  auto start = Clock::now();
  auto over = eval_value(step.over, scope);
  if (!over.ok() || !(over->is_array() || over->is_null())) {
    std::string what = over.ok() ? "expected a list, got " + std::string(over->type_name()) : over.status().message();
    st.fail({name, "template_error", "over: " + what});
    return false;
  }
  json items = over->is_null() ? json::array() : *over;
  const std::size_t n = items.size();
  std::vector<json> results(n);
  std::atomic<std::size_t> next{0};
  const auto deadline = start + std::chrono::milliseconds(step.timeout_ms);
  auto worker = [&]() {
    for (;;) {
      std::size_t i = next.fetch_add(1);
      if (i >= n || st.stop) return;
      if (Clock::now() > deadline) {
        st.fail({name, "timeout",
                 "foreach passed its " + std::to_string(step.timeout_ms) + " ms limit at item " + std::to_string(i)});
        return;
      }
      json item_scope = scope;
      item_scope[step.as] = items[i];
      item_scope["index"] = i;
      const std::string prefix = name + "[" + std::to_string(i) + "]";
      json before = item_scope["steps"];
      if (!run_steps(step.steps, item_scope, st, prefix, nullptr)) return;
      if (!step.result.is_null()) {
        auto v = eval_value(step.result, item_scope);
        if (!v.ok()) {
          st.fail({prefix, "template_error", "result: " + v.status().message()});
          return;
        }
        results[i] = std::move(*v);
      } else {
        json own = json::object();
        for (const auto& inner : step.steps) own[inner.id] = item_scope["steps"].value(inner.id, json());
        results[i] = std::move(own);
      }
    }
  };
  const int threads = std::max(1, std::min<int>(step.parallelism, static_cast<int>(n)));
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (st.stop) return false;
  result = json::array();
  for (auto& r : results) result.push_back(std::move(r));
  st.add(
      TraceEntry{name, "foreach", "ok", "", "", 0, 0, ms_since(start), false, nullptr, std::to_string(n) + " items"});
  return true;
}

bool Runner::breaker_allows(const std::string& key, const MacroHost& host) {
  std::lock_guard<std::mutex> lock(breakers_mu_);
  Breaker& b = breakers_[key];
  if (b.failures < host.breaker_failures) return true;
  if (Clock::now() >= b.open_until) {
    b.failures = host.breaker_failures - 1;  // half-open: one trial; a failure reopens it
    return true;
  }
  return false;
}

void Runner::breaker_record(const std::string& key, const MacroHost& host, bool failure) {
  std::lock_guard<std::mutex> lock(breakers_mu_);
  Breaker& b = breakers_[key];
  if (!failure) {
    b.failures = 0;
    return;
  }
  if (++b.failures >= host.breaker_failures)
    b.open_until = Clock::now() + std::chrono::milliseconds(host.breaker_open_ms);
}

bool Runner::run_http(const MacroStep& step, const json& scope, RunState& st, const std::string& name, json& result) {
  auto start = Clock::now();
  const MacroHost* host = st.macro->find_host(step.host);
  TraceEntry trace{name, "http", "ok", step.method};
  auto fail = [&](MacroError e) {
    trace.outcome = "error";
    trace.detail = st.scrub(e.message);
    trace.ms = ms_since(start);
    e.step = name;
    e.message = st.scrub(e.message);
    st.add(trace);
    st.fail(std::move(e));
    return false;
  };
  if (!host) return fail({name, "template_error", "unknown host " + step.host});
  auto path = render_template(step.path, scope, Escape::kUrlComponent);
  if (!path.ok()) return fail({name, "template_error", "path: " + path.status().message()});
  std::string url = st.base_urls[host->name] + *path;
  std::string query;
  for (const auto& [k, expr] : step.query.items()) {
    auto v = eval_value(expr, scope);
    if (!v.ok()) return fail({name, "template_error", "query." + k + ": " + v.status().message()});
    if (v->is_null()) continue;
    query += (query.empty() ? "?" : "&") + url_encode(k) + "=" + url_encode(query_value(*v));
  }
  url += query;
  trace.url = url;
  http::Request req;
  req.method = step.method;
  req.url = url;
  req.total_timeout = std::chrono::milliseconds(step.timeout_ms);
  req.connect_timeout = std::min(req.total_timeout, std::chrono::milliseconds(5000));
  for (const auto& [k, v] : host->headers) req.headers.emplace_back(k, v);
  for (const auto& [k, expr] : step.headers.items()) {
    auto v = eval_value(expr, scope);
    if (!v.ok()) return fail({name, "template_error", "headers." + k + ": " + v.status().message()});
    std::string text = v->is_string() ? v->get<std::string>() : v->dump();
    if (text.find_first_of("\r\n") != std::string::npos)
      return fail({name, "template_error", "headers." + k + " holds a line break"});
    req.headers.emplace_back(k, text);
  }
  json body;
  if (!step.body.is_null()) {
    auto v = eval_value(step.body, scope);
    if (!v.ok()) return fail({name, "template_error", "body: " + v.status().message()});
    body = std::move(*v);
    req.body = body.dump();
  }
  std::optional<std::size_t> max_items;
  if (!step.max_items.is_null()) {
    auto v = eval_value(step.max_items, scope);
    if (!v.ok()) return fail({name, "template_error", "max_items: " + v.status().message()});
    if (v->is_number_integer() && v->get<long long>() > 0) max_items = v->get<std::size_t>();
  }
  // Approval and dry runs: writes are planned, not sent.
  bool irreversible = false;
  if (!(step.irreversible.is_boolean() && !step.irreversible.get<bool>())) {
    auto irr = eval_predicate(step.irreversible, scope);
    irreversible = !irr.ok() || *irr;
  }
  trace.irreversible = irreversible;
  if (step.writes() && (st.plan_only || (irreversible && !st.options.approve))) {
    if (irreversible && !st.options.approve) {
      std::lock_guard<std::mutex> lock(st.mu);
      st.unapproved = true;
    }
    trace.outcome = "planned";
    trace.body = body;
    trace.ms = ms_since(start);
    st.add(trace);
    result = json{{"planned", true}};
    return true;
  }
  const std::string origin = origin_of(url);
  auto auth_for = [&](const std::string& target_url, http::Request& r) {
    if (host->auth_secret.empty()) return;
    auto it = st.secret_values.find(host->auth_secret);
    // Secrets go to their own host only: the host's base URL origin.
    if (it == st.secret_values.end() || origin_of(target_url) != origin_of(st.base_urls[host->name])) return;
    r.headers.emplace_back(host->auth_header, host->auth_prefix + it->second);
  };
  const int attempts_allowed = step.retry.attempts > 0 ? step.retry.attempts : (step.writes() ? 1 : 3);
  std::mt19937 rng(std::random_device{}());
  json collected = json::array();
  bool paginating = step.max_pages > 1;
  std::string page_url = url;
  for (int page = 0; page < step.max_pages; ++page) {
    http::Request page_req = req;
    page_req.url = page_url;
    auth_for(page_url, page_req);
    Result<http::Response> response = make_error(ErrorCode::kInternal, "not sent");
    int attempt = 0;
    long long backoff = step.retry.backoff_ms;
    for (;;) {
      ++attempt;
      if (!breaker_allows(origin, *host)) {
        return fail({name, "circuit_open", "circuit open for " + origin + " after repeated failures; not calling it"});
      }
      response = transport_->send(page_req);
      const bool failure = !response.ok() || response->status >= 500;
      breaker_record(origin, *host, failure);
      trace.attempts += 1;
      bool retryable = false;
      long long wait_ms = -1;
      if (!response.ok()) {
        ErrorCode c = response.status().code();
        retryable = c == ErrorCode::kTimeout || c == ErrorCode::kUnavailable || c == ErrorCode::kConnectionReset ||
                    c == ErrorCode::kBadResponse;
      } else if (is_rate_limited(*response)) {
        wait_ms = retry_after_ms(*response, st.clock_s());
        retryable = wait_ms >= 0 && wait_ms <= host->max_rate_limit_wait_ms;
        if (wait_ms < 0) {
          wait_ms = backoff;
          retryable = response->status == 429;
        }
      } else if (response->status >= 500) {
        retryable = true;
      }
      if (!retryable || attempt >= attempts_allowed || st.stop) break;
      if (wait_ms < 0) {
        std::uniform_real_distribution<double> jitter(0.8, 1.2);
        wait_ms = static_cast<long long>(static_cast<double>(backoff) * jitter(rng));
        backoff = std::min<long long>(backoff * 2, step.retry.max_backoff_ms);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    }
    if (!response.ok()) {
      return fail({name, transport_reason(response.status().code()), response.status().message()});
    }
    trace.status = response->status;
    if (response->status < 200 || response->status >= 300) {
      auto mapped = step.on_status.find(response->status);
      if (mapped != step.on_status.end() && mapped->second.is_object()) {
        auto v = eval_value(mapped->second["result"], scope);
        if (!v.ok()) return fail({name, "template_error", "on_status result: " + v.status().message()});
        result = std::move(*v);
        trace.outcome = "ok";
        trace.detail = "status " + std::to_string(response->status) + " handled by on_status";
        trace.ms = ms_since(start);
        st.add(trace);
        return true;
      }
      MacroError e{
          name, mapped != step.on_status.end() ? mapped->second.get<std::string>() : default_reason(response->status),
          step.method + " " + page_url + " -> " + std::to_string(response->status) + ": " +
              upstream_message(response->body),
          response->status, -1};
      if (is_rate_limited(*response)) {
        e.reason = mapped != step.on_status.end() ? e.reason : "rate_limited";
        e.retry_after_ms = retry_after_ms(*response, st.clock_s());
      }
      return fail(std::move(e));
    }
    json parsed;
    if (!response->body.empty()) {
      try {
        parsed = json::parse(response->body);
      } catch (const json::exception& ex) {
        return fail({name, "bad_response", step.method + " " + page_url + ": the response is not JSON: " + ex.what(),
                     response->status});
      }
    }
    json picked = parsed;
    if (step.pick.is_string()) {
      const std::string ptr = step.pick.get<std::string>();
      try {
        if (!parsed.contains(json::json_pointer(ptr)))
          return fail({name, "bad_response", "the response has no " + ptr, response->status});
        picked = parsed.at(json::json_pointer(ptr));
      } catch (const json::exception& ex) {
        return fail({name, "bad_response", "the response has no " + ptr + ": " + ex.what(), response->status});
      }
    } else if (step.pick.is_object()) {
      picked = json::object();
      for (const auto& [k, p] : step.pick.items()) {
        json::json_pointer ptr(p.get<std::string>());
        picked[k] = parsed.contains(ptr) ? parsed.at(ptr) : json();
      }
    }
    if (!paginating) {
      result = std::move(picked);
      if (max_items && result.is_array() && result.size() > *max_items)
        result.erase(result.begin() + static_cast<long>(*max_items), result.end());
      break;
    }
    if (!picked.is_array())
      return fail({name, "bad_response", "a paginated response must be a list", response->status});
    for (auto& item : picked) collected.push_back(std::move(item));
    if (max_items && collected.size() >= *max_items) break;
    std::string next = next_link(*response);
    if (next.empty()) break;
    if (origin_of(next) != origin)
      return fail({name, "bad_response", "pagination link leads to another host: " + next});
    page_url = next;
  }
  if (paginating) {
    if (max_items && collected.size() > *max_items)
      collected.erase(collected.begin() + static_cast<long>(*max_items), collected.end());
    result = std::move(collected);
  }
  trace.ms = ms_since(start);
  st.add(trace);
  return true;
}

}  // namespace ladder::macros
