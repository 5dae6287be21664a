// ladder macro list   --policy FILE [--json]
// ladder macro test   --policy FILE [ID ...] [--json]      replay recorded fixtures
// ladder macro record --policy FILE ID --args JSON --name NAME --out FILE [--approve]
//
// test runs with no model and no network; it exits 1 when any fixture does not match.
// record runs the macro live (classify steps through the router) and writes what it saw
// as a fixture file a macro can list under fixtures: [{file: ...}].
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "config/loader.h"
#include "macros/expr.h"
#include "macros/fixtures.h"
#include "macros/runner.h"

namespace ladder::cli {
namespace {

using nlohmann::json;

struct MacroArgs {
  std::string policy;
  std::vector<std::string> ids;
  std::string id;
  std::string args = "{}";
  std::string name;
  std::string out;
  std::string audit;
  std::string now;
  bool approve = false;
  bool json = false;
};

const char* status_name(MacroStatus s) {
  switch (s) {
    case MacroStatus::kActive:
      return "active";
    case MacroStatus::kDeprecated:
      return "deprecated";
    case MacroStatus::kRetired:
      return "retired";
  }
  return "?";
}

Result<ConfigPtr> load_checked(const std::string& policy) {
  auto config = load_policy_file(policy);
  if (!config.ok()) return config;
  macros::Runner probe(nullptr, macros::NativeRegistry::with_builtins(), nullptr);
  if (Status st = probe.check(**config); !st.ok()) return st;
  return config;
}

int run_list(const MacroArgs& a) {
  auto config = load_checked(a.policy);
  if (!config.ok()) return report_error(config.status());
  json list = json::array();
  for (const auto& m : (*config)->macro_definitions) {
    json j{{"id", m->id},
           {"family", m->family},
           {"version", m->version},
           {"status", status_name(m->status)},
           {"intent", m->intent},
           {"steps", m->steps.size()},
           {"fixtures", m->fixtures.size()},
           {"source", m->source_path}};
    if (!m->successor.empty()) j["successor"] = m->successor;
    list.push_back(std::move(j));
  }
  if (a.json) {
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  for (const auto& j : list) {
    std::cout << j["id"].get<std::string>() << "  [" << j["status"].get<std::string>() << "]  "
              << j["intent"].get<std::string>() << "  (" << j["steps"] << " steps, " << j["fixtures"] << " fixtures";
    if (j.contains("successor")) std::cout << ", successor " << j["successor"].get<std::string>();
    std::cout << ")\n";
  }
  return 0;
}

int run_test(const MacroArgs& a) {
  auto config = load_checked(a.policy);
  if (!config.ok()) return report_error(config.status());
  auto reports = macros::replay_fixtures(**config, macros::NativeRegistry::with_builtins(), a.ids);
  int failed = 0;
  json out = json::array();
  for (const auto& r : reports) {
    if (!r.passed) ++failed;
    if (a.json) {
      out.push_back(
          json{{"macro", r.macro}, {"fixture", r.fixture}, {"passed", r.passed}, {"mismatches", r.mismatches}});
      continue;
    }
    std::cout << (r.passed ? "PASS  " : "FAIL  ") << r.macro << "  " << r.fixture << "\n";
    for (const auto& m : r.mismatches) std::cout << "      " << m << "\n";
  }
  if (a.json) {
    std::cout << json{{"fixtures", out},
                      {"passed", reports.size() - static_cast<std::size_t>(failed)},
                      {"failed", failed}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << reports.size() - static_cast<std::size_t>(failed) << " passed, " << failed << " failed\n";
  }
  if (reports.empty()) {
    std::cerr << "error: not_found: no fixtures to replay\n";
    return 1;
  }
  return failed ? 1 : 0;
}

int run_record(const MacroArgs& a) {
  json args = json::parse(a.args, nullptr, false);
  if (args.is_discarded() || !args.is_object()) {
    std::cerr << "error: invalid_argument: --args must be a JSON object\n";
    return 2;
  }
  // Checked before the router (and its model) is loaded.
  std::string now = a.now;
  if (!now.empty()) {
    long long s = 0;
    if (!macros::parse_timestamp(now, s)) {
      std::cerr << "error: invalid_argument: --now must be an RFC 3339 time such as 2026-11-01T12:00:00Z\n";
      return 2;
    }
  } else {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    now = macros::format_timestamp(secs.count());
  }
  auto router = open_router(a.policy, a.audit);
  if (!router.ok()) return report_error(router.status());
  const Config& config = (*router)->config();
  auto recorder = std::make_shared<macros::RecordingTransport>(std::make_shared<macros::NetworkTransport>());
  auto classified = std::make_shared<json>(json::array());
  macros::ClassifyFn live = classify_with(**router);
  macros::ClassifyFn classify = [live, classified](const std::string& task, const std::string& input) -> Result<json> {
    auto r = live(task, input);
    if (r.ok()) classified->push_back(json{{"task", task}, {"input", input}, {"result", *r}});
    return r;
  };
  macros::Runner runner(recorder, macros::NativeRegistry::with_builtins(), classify);
  if (Status st = runner.check(config); !st.ok()) return report_error(st);
  macros::RunOptions options;
  options.approve = a.approve;
  options.now = now;
  macros::RunOutcome outcome = runner.run(config, a.id, args, options);
  json fixture =
      macros::fixture_json(a.name, args, a.approve, options.now, recorder->exchanges(), *classified, outcome);
  std::ofstream out(a.out, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::cerr << "error: not_found: cannot write " << a.out << "\n";
    return 2;
  }
  out << fixture.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  std::cout << "recorded " << recorder->exchanges().size() << " exchanges, " << classified->size()
            << " classify calls; status " << outcome.status << " -> " << a.out << "\n";
  return 0;
}

}  // namespace

Command add_macro_command(CLI::App& app) {
  auto args = std::make_shared<MacroArgs>();
  CLI::App* sub = app.add_subcommand("macro", "Compiled macros: list them, replay their fixtures, record fixtures");
  sub->require_subcommand(1);
  CLI::App* list = sub->add_subcommand("list", "List the policy's macros with version and status");
  list->add_option("--policy", args->policy, "policy YAML file")->required()->check(CLI::ExistingFile);
  list->add_flag("--json", args->json, "print JSON");
  CLI::App* test = sub->add_subcommand("test", "Replay recorded fixtures with no model and no network");
  test->add_option("--policy", args->policy, "policy YAML file")->required()->check(CLI::ExistingFile);
  test->add_option("ids", args->ids, "macro ids (default: all)");
  test->add_flag("--json", args->json, "print JSON");
  CLI::App* record = sub->add_subcommand("record", "Run a macro live and write what it saw as a fixture");
  record->add_option("--policy", args->policy, "policy YAML file")->required()->check(CLI::ExistingFile);
  record->add_option("id", args->id, "macro id")->required();
  record->add_option("--args", args->args, "arguments, a JSON object");
  record->add_option("--name", args->name, "fixture name")->required();
  record->add_option("--out", args->out, "fixture file to write")->required();
  record->add_option("--audit", args->audit, "audit JSONL file for classify decisions");
  record->add_flag("--approve", args->approve, "let irreversible steps run");
  record->add_option("--now", args->now, "the run's clock (RFC 3339); default: now");
  return {sub, [args, list, test, record] {
            if (list->parsed()) return run_list(*args);
            if (test->parsed()) return run_test(*args);
            if (record->parsed()) return run_record(*args);
            return 2;
          }};
}

}  // namespace ladder::cli
