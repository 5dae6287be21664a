// One file per subcommand; each registers itself on the CLI11 app and returns the action
// to run when it was chosen.
#pragma once

#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

namespace ladder::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_route_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_policy_command(CLI::App& app);
Command add_distill_command(CLI::App& app);
Command add_run_command(CLI::App& app);
Command add_macro_command(CLI::App& app);
Command add_serve_command(CLI::App& app);
Command add_calibrate_command(CLI::App& app);
Command add_models_command(CLI::App& app);
Command add_audit_command(CLI::App& app);
Command add_stats_command(CLI::App& app);
Command add_review_command(CLI::App& app);
Command add_sweep_command(CLI::App& app);
Command add_rotate_command(CLI::App& app);
Command add_replay_command(CLI::App& app);

}  // namespace ladder::cli
