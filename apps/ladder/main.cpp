// Thin: parse args → the chosen subcommand loads config, wires components and runs.
#include <iostream>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("ladder"));
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{"ladder: a local-first LLM router"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "log more");
  std::vector<ladder::cli::Command> commands = {
      ladder::cli::add_route_command(app),  ladder::cli::add_eval_command(app),
      ladder::cli::add_policy_command(app), ladder::cli::add_distill_command(app),
      ladder::cli::add_run_command(app),    ladder::cli::add_macro_command(app),
      ladder::cli::add_serve_command(app),  ladder::cli::add_calibrate_command(app),
      ladder::cli::add_models_command(app), ladder::cli::add_audit_command(app),
      ladder::cli::add_stats_command(app),  ladder::cli::add_review_command(app),
      ladder::cli::add_sweep_command(app),  ladder::cli::add_rotate_command(app),
      ladder::cli::add_replay_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (verbose) spdlog::set_level(spdlog::level::debug);
  for (const auto& c : commands)
    if (c.app->parsed()) return c.run();
  std::cerr << app.help();
  return 2;
}
