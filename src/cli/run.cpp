// ladder run --policy FILE [--approve] [--dry-run] [--json] "request"
// ladder run --policy FILE --macro ID [--args JSON] ...
//
// Routes a natural-language request to a macro with the local model (the policy's
// route_macro task), validates the arguments, shows the plan and runs the macro.
// Exit codes: 0 ok or dry run, 1 the macro failed, 2 bad input or policy, 3 escalated and
// no macro ran, 4 refused (privacy), 5 approval required (nothing was written).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "macros/runner.h"
#include "router/decision_json.h"
#include "store/jsonl_sink.h"

namespace ladder::cli {
namespace {

using nlohmann::json;

struct RunArgs {
  std::string policy;
  std::string task;
  std::string request;
  std::string input;
  std::string macro;
  std::string args = "{}";
  std::string audit;
  bool approve = false;
  bool dry_run = false;
  bool json = false;
  bool privacy = false;
};

std::string dump(const json& j, int indent = -1) { return j.dump(indent, ' ', false, json::error_handler_t::replace); }

void print_outcome(const macros::RunOutcome& o) {
  for (const auto& w : o.warnings) std::cout << "warning:  " << w << "\n";
  std::cout << "macro:    " << o.macro << " " << dump(o.args) << "\n";
  std::cout << "plan:\n";
  for (const auto& t : o.trace) {
    // Steps skipped inside a foreach item are noise in a plan; --json lists them.
    if (t.outcome == "skipped" && t.step.find('[') != std::string::npos) continue;
    std::cout << "  " << t.step << "  ";
    if (t.kind == "http" && t.outcome != "skipped") {
      std::cout << t.method << " " << t.url;
      if (t.outcome == "planned") {
        std::cout << "  [planned" << (t.irreversible ? ", irreversible" : "") << "]";
        if (!t.body.is_null()) std::cout << " " << dump(t.body);
      } else if (t.status) {
        std::cout << "  -> " << t.status << " (" << t.attempts << (t.attempts == 1 ? " attempt" : " attempts") << ", "
                  << static_cast<int>(t.ms) << " ms)";
      }
      if (t.outcome == "error") std::cout << "  error: " << t.detail;
    } else {
      std::cout << t.kind << " " << t.outcome;
      if (!t.detail.empty()) std::cout << " (" << t.detail << ")";
    }
    std::cout << "\n";
  }
  std::cout << "status:   " << o.status << "\n";
  if (o.status == "approval_required") {
    std::cout << "approval: irreversible steps (";
    for (std::size_t i = 0; i < o.irreversible_steps.size(); ++i)
      std::cout << (i ? ", " : "") << o.irreversible_steps[i];
    std::cout << ") were not run; nothing was written. Run again with --approve to act.\n";
  }
  if (o.error) {
    std::cout << "error:    " << o.error->reason << " at step " << (o.error->step.empty() ? "(start)" : o.error->step)
              << ": " << o.error->message << "\n";
  } else {
    std::cout << "result:\n" << dump(o.result, 2) << "\n";
  }
}

int exit_code_for(const macros::RunOutcome& o) {
  if (o.status == "ok" || o.status == "dry_run") return 0;
  if (o.status == "approval_required") return 5;
  if (o.error && (o.error->reason == "invalid_arguments" || o.error->reason == "unknown_macro" ||
                  o.error->reason == "macro_retired"))
    return 2;
  return 1;
}

int run_run(const RunArgs& a) {
  if (a.request.empty() == a.input.empty() && a.macro.empty()) {
    std::cerr << "error: invalid_argument: give the request as an argument, or --input FILE, or --macro ID\n";
    return 2;
  }
  json direct_args;
  if (!a.macro.empty()) {
    direct_args = json::parse(a.args, nullptr, false);
    if (direct_args.is_discarded() || !direct_args.is_object()) {
      std::cerr << "error: invalid_argument: --args must be a JSON object\n";
      return 2;
    }
  }
  std::string request = a.request;
  if (!a.input.empty()) {
    auto text = read_input(a.input);
    if (!text.ok()) return report_error(text.status());
    request = std::move(text).value();
  }
  auto router = open_router(a.policy, a.audit);
  if (!router.ok()) return report_error(router.status());
  const Config& config = (*router)->config();
  macros::Runner runner(std::make_shared<macros::NetworkTransport>(), macros::NativeRegistry::with_builtins(),
                        classify_with(**router));
  if (Status st = runner.check(config); !st.ok()) return report_error(st);
  auto sink = open_jsonl_sink(audit_path_for(config, a.audit));
  if (!sink.ok()) return report_error(sink.status());

  macros::RunOptions options;
  options.approve = a.approve;
  options.dry_run = a.dry_run;
  json out = json::object();
  std::string macro_id = a.macro;
  json args = direct_args;
  std::string decision_id;
  if (macro_id.empty()) {
    const std::string task = macros::route_macro_task(config, a.task);
    if (task.empty()) {
      std::cerr << "error: config_invalid: the policy has no route_macro task\n";
      return 2;
    }
    RouteRequest req;
    req.task = task;
    req.input = request;
    req.options.privacy = a.privacy;
    auto decision = (*router)->route(req);
    if (!decision.ok()) return report_error(decision.status());
    const Decision& d = *decision;
    decision_id = d.request_id;
    out["decision"] = decision_to_json(d);
    if (auto choice = macros::chosen_macro(d)) {
      macro_id = std::move(choice->macro);
      args = std::move(choice->args);
    }
    if (!a.json) {
      std::cout << "decision: " << d.route;
      if (d.reason) std::cout << " (" << reason_name(*d.reason) << ")";
      if (d.confidence) std::cout << ", confidence " << *d.confidence;
      std::cout << ", " << static_cast<int>(d.total_ms) << " ms, request " << d.request_id << "\n";
      if (!d.reason_detail.empty()) std::cout << "why:      " << d.reason_detail << "\n";
    }
    if (macro_id.empty()) {
      std::string why =
          d.route == "refused"
              ? "refused: the request must stay local and a rule wants it escalated"
              : (d.frontier_ok ? "the frontier named no macro"
                               : "escalated; the frontier did not answer (" + d.frontier_error.to_string() + ")");
      if (a.json) {
        out["status"] = d.route == "refused" ? "refused" : "escalated";
        out["detail"] = why;
        std::cout << dump(out, 2) << "\n";
      } else {
        std::cout << "no macro run: " << why << "\n";
      }
      return d.route == "refused" ? 4 : 3;
    }
  }
  options.request_id = decision_id;
  macros::RunOutcome outcome = runner.run(config, macro_id, args, options);
  (void)(*sink)->write(macros::macro_audit_record(outcome, decision_id));
  (void)(*sink)->flush();
  if (a.json) {
    out["run"] = outcome.to_json();
    std::cout << dump(out, 2) << "\n";
  } else {
    print_outcome(outcome);
  }
  return exit_code_for(outcome);
}

}  // namespace

Command add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand("run", "Route a request to a compiled macro and run it");
  sub->add_option("--policy", args->policy, "policy YAML file")->required()->check(CLI::ExistingFile);
  sub->add_option("request", args->request, "the request in natural language");
  sub->add_option("--input", args->input, "read the request from a file, or - for standard input");
  sub->add_option("--task", args->task, "the route_macro task to use (default: the policy's first)");
  sub->add_option("--macro", args->macro, "run this macro directly (no routing)");
  sub->add_option("--args", args->args, "arguments for --macro, a JSON object");
  sub->add_option("--audit", args->audit, "audit JSONL file (default: the policy's, else ./ladder-audit.jsonl)");
  sub->add_flag("--approve", args->approve, "let irreversible steps (close, merge, delete, ...) run");
  sub->add_flag("--dry-run", args->dry_run, "send no write at all; print the plan");
  sub->add_flag("--json", args->json, "print the decision and the run as JSON");
  sub->add_flag("--privacy", args->privacy, "the request must not leave this machine");
  return {sub, [args] { return run_run(*args); }};
}

}  // namespace ladder::cli
