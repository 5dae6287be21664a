// ladder route --policy FILE --task NAME [--input FILE|-] [--json]
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "router/decision_json.h"

namespace ladder::cli {
namespace {

struct RouteArgs {
  std::string policy;
  std::string task;
  std::string input = "-";
  std::string audit;
  bool json = false;
  bool privacy = false;
  bool force_frontier = false;
  int tool_chain = 0;
};

int run_route(const RouteArgs& args) {
  auto input = read_input(args.input);
  if (!input.ok()) return report_error(input.status());
  auto router = open_router(args.policy, args.audit);
  if (!router.ok()) return report_error(router.status());

  RouteRequest req;
  req.task = args.task;
  req.input = std::move(input).value();
  req.options.privacy = args.privacy;
  req.options.force_frontier = args.force_frontier;
  req.options.tool_chain_length = args.tool_chain;
  auto decision = (*router)->route(req);
  if (!decision.ok()) return report_error(decision.status());
  const Decision& d = *decision;

  if (args.json) {
    std::cout << decision_to_json(d).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << "answer:   " << (d.answer_text.empty() ? "(none)" : d.answer_text) << "\n";
    std::cout << "route:    " << d.route;
    if (d.reason) std::cout << " (" << reason_name(*d.reason) << ")";
    std::cout << "\n";
    if (!d.reason_detail.empty()) std::cout << "why:      " << d.reason_detail << "\n";
    if (d.local_ran) std::cout << "local:    " << d.local_answer_text << "\n";
    if (d.confidence) std::cout << "confidence: " << *d.confidence << "\n";
    if (d.route == "frontier" && !d.frontier_ok)
      std::cout << "frontier: unanswered (" << d.frontier_error.to_string() << ")\n";
    for (const auto& t : d.tiers)
      std::cout << "tier " << t.tier << " " << t.tier_name << ": " << t.model_name << " [" << t.backend << "] "
                << (t.ok ? "ok" : t.error.to_string()) << " " << t.latency_ms << " ms\n";
    std::cout << "request:  " << d.request_id << ", " << d.total_ms << " ms\n";
  }
  // A refused request (privacy) or an escalation nobody answered is not a success.
  if (d.route == "refused") return 4;
  if (d.route == "frontier" && !d.frontier_ok) return 3;
  return 0;
}

}  // namespace

Command add_route_command(CLI::App& app) {
  auto args = std::make_shared<RouteArgs>();
  CLI::App* sub = app.add_subcommand("route", "Route one task: local model first, escalate when a rule says so");
  sub->add_option("--policy", args->policy, "policy YAML file")->required()->check(CLI::ExistingFile);
  sub->add_option("--task", args->task, "task name from the policy")->required();
  sub->add_option("--input", args->input, "input file, or - for standard input")->capture_default_str();
  sub->add_option("--audit", args->audit, "audit JSONL file (default: the policy's, else ./ladder-audit.jsonl)");
  sub->add_flag("--json", args->json, "print the whole decision as JSON");
  sub->add_flag("--privacy", args->privacy, "the input must not leave this machine");
  sub->add_flag("--force-frontier", args->force_frontier, "manual override: send straight to the frontier");
  sub->add_option("--tool-chain", args->tool_chain, "length of the agent's tool chain behind this request")
      ->check(CLI::NonNegativeNumber);
  return {sub, [args] { return run_route(*args); }};
}

}  // namespace ladder::cli
