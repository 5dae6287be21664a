// Runs compiled macros: resolves the requested id (deprecated versions warn, retired ones
// move to their successor after migrating the arguments), validates arguments, decides
// whether approval is needed, and executes the steps with no model in the loop except
// classify steps (which call a ladder task, itself routed and audited).
//
// A run never throws and never takes its caller down: it ends ok, approval_required
// (an irreversible step was not approved: nothing was written, the plan says what would
// be), dry_run (asked for: nothing written), or error (a typed error naming the step and
// one reason from the macro's failure contract).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/config.h"
#include "ladder/decision.h"
#include "ladder/macro.h"
#include "macros/native.h"
#include "macros/transport.h"

namespace ladder::macros {

struct MacroError {
  std::string step;    // "" for errors before the first step; "each_pr[2].apply" inside foreach
  std::string reason;  // a builtin error state or one the macro declares
  std::string message;
  int http_status = 0;
  long long retry_after_ms = -1;
};

struct TraceEntry {
  std::string step;
  std::string kind;     // http | classify | native | foreach | map | filter | emit
  std::string outcome;  // ok | skipped | planned | error
  std::string method;   // http
  std::string url;      // http, without credentials
  int status = 0;
  int attempts = 0;
  double ms = 0.0;
  bool irreversible = false;
  nlohmann::json body;  // planned writes: the body that would be sent
  std::string detail;   // classify: label and route; errors: the message
};

struct RunOptions {
  bool approve = false;  // irreversible steps may run
  bool dry_run = false;  // send no write at all
  std::string now;       // the run's clock (RFC 3339); empty: the system clock
  std::string request_id;
};

struct RunOutcome {
  std::string requested;  // the id asked for
  std::string macro;      // the id that ran (a successor when the requested one is retired)
  std::string status;     // ok | approval_required | dry_run | error
  nlohmann::json args;    // validated, defaults applied
  nlohmann::json result;  // emit's value (planned writes show {"planned": true})
  std::optional<MacroError> error;
  std::vector<TraceEntry> trace;
  std::vector<std::string> warnings;
  std::vector<std::string> irreversible_steps;  // what needs approval, when it does
  double ms = 0.0;
  nlohmann::json to_json() const;
};

// The route_macro task a request is routed with: `wanted` when given, else the policy's
// first route_macro task ("" when it has none).
std::string route_macro_task(const Config& config, const std::string& wanted);

struct MacroChoice {
  std::string macro;
  nlohmann::json args;
};
// The macro a route_macro decision chose: the accepted local answer, or the frontier's
// answer when an escalation was answered with a macro; nullopt when none was chosen.
std::optional<MacroChoice> chosen_macro(const Decision& d);

// The audit record of a macro run (kind "macro_run"), tied to the routing decision that
// chose it. Arguments and results are previewed with secrets masked.
nlohmann::json macro_audit_record(const RunOutcome& outcome, const std::string& decision_id);

// Calls a ladder task on an input: {label, route, reason, confidence, decision_id}.
using ClassifyFn = std::function<Result<nlohmann::json>(const std::string& task, const std::string& input)>;
// Reads a secret's value ("" when it is not set).
using SecretReader = std::function<std::string(const MacroSecret& secret)>;

// Environment variable first, then the file's first line.
std::string read_secret(const MacroSecret& secret);

class Runner {
 public:
  Runner(std::shared_ptr<Transport> transport, NativeRegistry natives, ClassifyFn classify,
         SecretReader secrets = read_secret);

  // Every native handler and classify task the macros name must exist; kConfigInvalid
  // naming file and line otherwise.
  Status check(const Config& config) const;

  // Resolves `id` among the config's macros and runs it.
  RunOutcome run(const Config& config, const std::string& id, const nlohmann::json& args, const RunOptions& options);

  // Does this macro, with these arguments, include an irreversible step? Lists them.
  // `now` is the run's clock (RFC 3339; empty: the system clock).
  static std::vector<std::string> irreversible_steps(const MacroDefinition& macro, const nlohmann::json& args,
                                                     const std::string& now = "");

 private:
  struct Breaker {
    int failures = 0;
    std::chrono::steady_clock::time_point open_until{};
  };
  struct RunState;

  bool run_steps(const std::vector<MacroStep>& steps, nlohmann::json& scope, RunState& st, const std::string& prefix,
                 nlohmann::json* emitted);
  bool run_step(const MacroStep& step, nlohmann::json& scope, RunState& st, const std::string& name,
                nlohmann::json& result);
  bool run_http(const MacroStep& step, const nlohmann::json& scope, RunState& st, const std::string& name,
                nlohmann::json& result);
  bool run_foreach(const MacroStep& step, const nlohmann::json& scope, RunState& st, const std::string& name,
                   nlohmann::json& result);
  bool breaker_allows(const std::string& key, const MacroHost& host);
  void breaker_record(const std::string& key, const MacroHost& host, bool failure);

  std::shared_ptr<Transport> transport_;
  NativeRegistry natives_;
  ClassifyFn classify_;
  SecretReader secrets_;
  std::mutex breakers_mu_;  // guards breakers_
  std::map<std::string, Breaker> breakers_;
};

}  // namespace ladder::macros
