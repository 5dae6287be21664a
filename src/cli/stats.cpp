// ladder stats --policy FILE [--since DURATION] [--task NAME] [--json]
//              [--drift [--window DURATION] [--against-previous]]
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "store/drift.h"
#include "store/stats.h"

namespace ladder::cli {
namespace {

struct StatsArgs {
  std::string policy;
  std::optional<std::string> since;  // unset: every decision
  std::string task;
  bool json = false;
  bool drift = false;
  std::string window = "1d";
  bool against_previous = false;
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

void print_drift(const std::vector<store::ArgumentDrift>& drift) {
  std::cout << "argument drift (Jensen-Shannon vs the reference window):\n";
  if (drift.empty()) std::cout << "  no macro decisions\n";
  for (const auto& d : drift) {
    std::cout << "  " << d.macro << "." << d.argument << " (" << (d.numeric ? "numeric" : "categorical") << "): max "
              << d.max_score << (d.flagged ? "  DRIFT" : "") << "\n";
    for (const auto& w : d.windows) {
      std::cout << "    " << w.start << " n=" << w.count;
      if (w.score) std::cout << " js=" << *w.score;
      std::cout << (w.flagged ? " flagged" : "") << "\n";
    }
  }
}

int run_stats(const StatsArgs& a) {
  store::DriftOptions drift_options;
  if (a.drift) {
    auto window = store::parse_duration_seconds(a.window);
    if (!window.ok() || *window <= 0)
      return report_error(make_error(ErrorCode::kInvalidArgument, "--window: expected a duration like 1d or 6h"));
    drift_options.window_seconds = *window;
    drift_options.against_previous = a.against_previous;
  }
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
  const store::StatsReport report = store::compute_stats(*decisions, *opened->config);
  std::vector<store::ArgumentDrift> drift;
  if (a.drift) drift = store::compute_drift(*decisions, drift_options);
  if (a.json) {
    nlohmann::json out = store::stats_json(report);
    if (a.drift) out["drift"] = store::drift_json(drift);
    std::cout << out.dump(2) << "\n";
  } else {
    print_text(report);
    if (a.drift) print_drift(drift);
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
  sub->add_flag("--drift", args->drift, "per macro argument: value distributions by window and their drift");
  sub->add_option("--window", args->window, "drift window (default 1d)");
  sub->add_flag("--against-previous", args->against_previous, "drift against the previous window, not the first");
  return {sub, [args] { return run_stats(*args); }};
}

}  // namespace ladder::cli
