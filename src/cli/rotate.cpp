// ladder rotate report --policy FILE [--since DURATION] [--task NAME] [--json]
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "store/rotation.h"
#include "store/stats.h"

namespace ladder::cli {
namespace {

struct RotateArgs {
  std::string policy;
  std::optional<std::string> since;  // unset: every decision
  std::string task;
  bool json = false;
};

std::string percent(const std::optional<double>& v) {
  if (!v) return "n/a";
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << *v * 100 << "%";
  return out.str();
}

int run_report(const RotateArgs& a) {
  store::DecisionFilter filter;
  if (Status s = apply_since(a.since, filter); !s.ok()) return report_error(s);
  auto opened = open_policy_store(a.policy);
  if (!opened.ok()) return report_error(opened.status());
  if (!a.task.empty()) {
    if (!opened->config->find_task(a.task))
      return report_error(make_error(ErrorCode::kNotFound, "--task: no task '" + a.task + "' in the policy"));
    filter.task = a.task;
  }
  auto decisions = opened->store->query(filter);
  if (!decisions.ok()) return report_error(decisions.status());
  const auto report = store::compute_rotation(*decisions);
  if (a.json) {
    std::cout << store::rotation_json(report).dump(2) << "\n";
    return 0;
  }
  if (report.empty()) std::cout << "no decisions with a candidate result\n";
  std::cout << std::fixed << std::setprecision(1);
  for (const auto& [task, t] : report)
    std::cout << task << " (candidate " << t.candidate_model << ", " << t.shadowed << " shadowed):\n"
              << "  agreement: " << percent(t.agreement) << "\n"
              << "  acceptance: live " << percent(t.live_acceptance) << ", candidate "
              << percent(t.candidate_acceptance) << "\n"
              << "  would-be false accepts: " << t.would_be_false_accepts << "\n"
              << "  latency ms p50/p95: live " << t.live_latency_ms.p50 << "/" << t.live_latency_ms.p95
              << ", candidate " << t.candidate_latency_ms.p50 << "/" << t.candidate_latency_ms.p95 << "\n";
  return 0;
}

}  // namespace

Command add_rotate_command(CLI::App& app) {
  auto args = std::make_shared<RotateArgs>();
  CLI::App* rotate = app.add_subcommand("rotate", "Compare a candidate model run in shadow with the live one");
  rotate->require_subcommand(1);
  CLI::App* report = rotate->add_subcommand("report", "Agreement, acceptance, would-be false accepts, latency");
  report->add_option("--policy", args->policy, "policy YAML file (its store: section)")->required();
  report->add_option("--since", args->since, "only decisions newer than this (90s, 30m, 24h, 7d)");
  report->add_option("--task", args->task, "only this task");
  report->add_flag("--json", args->json, "print JSON");
  return {rotate, [args] { return run_report(*args); }};
}

}  // namespace ladder::cli
