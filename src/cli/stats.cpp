// ladder stats --policy FILE [--since DURATION] [--task NAME] [--json]
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "store/stats.h"

namespace ladder::cli {
namespace {

struct StatsArgs {
  std::string policy;
  std::string since;
  std::string task;
  bool json = false;
};

std::string percent(const std::optional<double>& v) {
  if (!v) return "n/a";
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << *v * 100 << "%";
  return out.str();
}

void print_text(const store::StatsReport& r) {
  std::cout << std::fixed << std::setprecision(4);
  std::cout << "decisions: " << r.decisions << "\n"
            << "local acceptance: " << percent(r.local_acceptance) << " (" << r.local << " local)\n"
            << "escalations by task:\n";
  for (const auto& [task, t] : r.by_task)
    std::cout << "  " << task << ": " << t.escalated << " of " << t.decisions << " ("
              << percent(t.decisions ? std::optional<double>(double(t.escalated) / double(t.decisions)) : std::nullopt)
              << ")\n";
  std::cout << "escalation reasons:\n";
  for (const auto& [reason, n] : r.escalation_reasons) std::cout << "  " << reason << ": " << n << "\n";
  std::cout << "validation failure reasons:\n";
  for (const auto& [reason, n] : r.failure_reasons) std::cout << "  " << reason << ": " << n << "\n";
  std::cout << "local answer defect rate: " << percent(r.defect_rate) << " (" << r.defects_local << " of "
            << r.reviewed_local << " reviewed)\n"
            << "frontier fallback latency ms: p50 " << r.fallback_latency_ms.p50 << ", p95 "
            << r.fallback_latency_ms.p95 << " (" << r.fallback_latency_ms.count << " answers)\n"
            << "cost: $" << r.cost << " for " << r.successful << " successful tasks; per task: $"
            << (r.cost_per_successful_task ? *r.cost_per_successful_task : 0.0) << "\n"
            << "all-frontier estimate: $" << r.all_frontier_cost << ", saving $" << r.saving << "\n";
}

int run_stats(const StatsArgs& a) {
  store::DecisionFilter filter;
  if (!a.since.empty()) {
    auto seconds = store::parse_duration_seconds(a.since);
    if (!seconds.ok())
      return report_error(make_error(seconds.status().code(), "--since: " + seconds.status().message()));
    filter.since_ts = store::rfc3339_seconds_ago(*seconds);
  }
  auto opened = open_policy_store(a.policy);
  if (!opened.ok()) return report_error(opened.status());
  if (!a.task.empty()) {
    if (!opened->config->find_task(a.task))
      return report_error(make_error(ErrorCode::kNotFound, "--task: no task '" + a.task + "' in the policy"));
    filter.task = a.task;
  }
  auto decisions = opened->store->query(filter);
  if (!decisions.ok()) return report_error(decisions.status());
  const store::StatsReport report = store::compute_stats(*decisions, *opened->config);
  if (a.json) {
    std::cout << store::stats_json(report).dump(2) << "\n";
  } else {
    print_text(report);
  }
  return 0;
}

}  // namespace

Command add_stats_command(CLI::App& app) {
  auto args = std::make_shared<StatsArgs>();
  CLI::App* sub = app.add_subcommand("stats", "Acceptance, escalations, defects, latency and cost from the store");
  sub->add_option("--policy", args->policy, "policy YAML file (its store: section)")->required();
  sub->add_option("--since", args->since, "only decisions newer than this (90s, 30m, 24h, 7d)");
  sub->add_option("--task", args->task, "only this task");
  sub->add_flag("--json", args->json, "print JSON");
  return {sub, [args] { return run_stats(*args); }};
}

}  // namespace ladder::cli
