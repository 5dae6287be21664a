// ladder audit import FILE.jsonl (--policy FILE | --db PATH)
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "config/loader.h"
#include "store/import.h"
#include "store/store.h"

namespace ladder::cli {
namespace {

struct ImportArgs {
  std::string file;
  std::string policy;
  std::string db;
};

int run_import(const ImportArgs& a) {
  if (a.policy.empty() == a.db.empty()) {
    return report_error(make_error(ErrorCode::kInvalidArgument, "give one of --policy or --db"));
  }
  StoreConfig cfg;
  if (!a.policy.empty()) {
    auto config = load_policy_file(a.policy);
    if (!config.ok()) return report_error(config.status());
    cfg = (*config)->store;
  } else {
    cfg.kind = StoreConfig::Kind::kSqlite;
    cfg.path = a.db;
  }
  auto text = read_input(a.file, std::size_t{4} * 1024 * 1024 * 1024);
  if (!text.ok()) return report_error(text.status());
  auto store = store::open_record_store(cfg);
  if (!store.ok()) return report_error(store.status());
  auto report = store::import_jsonl(**store, *text);
  if (!report.ok()) return report_error(report.status());
  if (!report->problems.empty()) {
    for (const auto& p : report->problems) std::cerr << a.file << ":" << p.line << ": " << p.what << "\n";
    return report_error(
        make_error(ErrorCode::kParseError,
                   std::to_string(report->problems.size()) + " bad line(s) in '" + a.file + "'; nothing was imported"));
  }
  std::cout << "imported " << report->imported << " records from " << a.file << "\n";
  return 0;
}

}  // namespace

Command add_audit_command(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* audit = app.add_subcommand("audit", "Work with the decision store");
  audit->require_subcommand(1);
  CLI::App* import = audit->add_subcommand("import", "Load a JSONL audit log into the decision store");
  import->add_option("file", args->file, "JSONL audit log ('-' for standard input)")->required();
  import->add_option("--policy", args->policy, "policy file whose store: section names the store");
  import->add_option("--db", args->db, "SQLite database file (instead of --policy)");
  return {audit, [args] { return run_import(*args); }};
}

}  // namespace ladder::cli
