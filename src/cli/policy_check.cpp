// ladder policy check FILE
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "config/explain.h"
#include "config/loader.h"
#include "models/inventory.h"
#include "policy/hard_stops.h"

namespace ladder::cli {

Command add_policy_command(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  CLI::App* policy = app.add_subcommand("policy", "Work with policy files");
  policy->require_subcommand(1);
  CLI::App* check = policy->add_subcommand("check", "Validate a policy file and explain what it does");
  check->add_option("file", *file, "policy YAML file")->required();
  auto run = [file]() -> int {
    auto config = load_policy_file(*file);
    if (!config.ok()) return report_error(config.status());
    auto scanner = HardStopScanner::create((*config)->hard_stops);
    if (!scanner.ok()) return report_error(scanner.status());
    for (const auto& [name, model] : (*config)->models) {
      if (model.backend != "embedded") continue;
      if (auto s = models::check_model_file(model.model_path); !s.ok())
        return report_error(Status(s.code(), "model '" + name + "': " + s.message()));
    }
    std::cout << explain_policy(**config);
    std::cout << "policy ok: " << *file << "\n";
    return 0;
  };
  return {check, run};
}

}  // namespace ladder::cli
