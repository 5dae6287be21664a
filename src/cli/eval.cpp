// ladder eval --policy FILE --corpus FILE [--json]
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/eval_score.h"

namespace ladder::cli {
namespace {

struct EvalArgs {
  std::string policy;
  std::string corpus;
  std::string audit;
  std::string split;
  bool json = false;
  bool skip_frontier = false;
  double max_false_accepts = -1;
};

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", v * 100.0);
  return buf;
}

int run_eval(const EvalArgs& args) {
  std::error_code ec;
  if (std::filesystem::is_directory(args.corpus, ec))
    return report_error(
        make_error(ErrorCode::kInvalidArgument, args.corpus + ": the corpus is a directory, not a JSONL file"));
  auto text = read_input(args.corpus);
  if (!text.ok()) return report_error(text.status());
  auto cases = parse_corpus(*text, args.corpus);
  if (!cases.ok()) return report_error(cases.status());
  if (!args.split.empty()) {
    std::erase_if(*cases, [&](const EvalCase& c) { return c.split != args.split; });
    if (cases->empty())
      return report_error(
          make_error(ErrorCode::kInvalidArgument, args.corpus + ": no case has split '" + args.split + "'"));
  }
  RouterOptions options;
  options.skip_escalation_calls = args.skip_frontier;
  auto router = open_router(args.policy, args.audit, options);
  if (!router.ok()) return report_error(router.status());

  std::vector<CaseOutcome> outcomes;
  std::string local_model;
  for (const auto& c : *cases) {
    RouteRequest req;
    req.task = c.task;
    req.input = c.input;
    req.request_id = c.id;
    auto d = (*router)->route(req);
    if (!d.ok()) {
      outcomes.push_back(error_case(c, d.status()));
      continue;
    }
    for (const auto& t : d->tiers)
      if (t.tier == 0 && t.ok && local_model.empty()) local_model = t.model;
    outcomes.push_back(score_case(c, *d));
  }
  nlohmann::json report = make_report(outcomes);
  report["policy"] = args.policy;
  report["corpus"] = args.corpus;
  report["local_model"] = local_model;

  if (args.json) {
    std::cout << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    for (const auto& r : report["results"]) {
      std::cout << (r["ok"].get<bool>() ? "  ok  " : " MISS ") << r["id"].get<std::string>() << "  expect "
                << r["expect_route"].get<std::string>() << ", got " << r["route"].get<std::string>();
      if (r.contains("reason")) std::cout << " (" << r["reason"].get<std::string>() << ")";
      if (r.contains("label"))
        std::cout << " label " << r["label"].get<std::string>() << "/" << r["expect_label"].get<std::string>();
      if (r.contains("macro") && !r["macro"].get<std::string>().empty())
        std::cout << " macro " << r["macro"].get<std::string>();
      if (r.contains("error")) std::cout << " error " << r["error"].get<std::string>();
      std::cout << "\n";
    }
    std::cout << "\nmodel            " << local_model << "\n"
              << "cases            " << report["cases"] << " (errors " << report["errors"] << ")\n"
              << "false accepts    " << report["false_accepts"] << "\n"
              << "local acceptance " << pct(report["local_acceptance"]) << "\n"
              << "label accuracy   " << pct(report["label_accuracy"]) << "\n"
              << "macro accuracy   " << pct(report["macro_accuracy"]) << "\n"
              << "args exact       " << pct(report["args_exact"]) << "\n"
              << "JSON validity    " << pct(report["json_validity"]) << "\n"
              << "ECE (10 bins)    " << report["ece"].get<double>() << "\n"
              << "Brier score      " << report["brier"].get<double>() << "\n";
    for (const auto& [task, t] : report["calibration"]["by_task"].items()) {
      std::cout << "0-FA threshold   " << task << ": ";
      if (t["threshold_zero_false_accepts"].is_null())
        std::cout << "none";
      else
        std::cout << t["threshold_zero_false_accepts"].get<double>();
      std::cout << " (acceptance " << pct(t["acceptance"]) << ")\n";
    }
    std::cout << "latency p50/p95  " << report["latency_ms"]["p50"].get<double>() << " / "
              << report["latency_ms"]["p95"].get<double>() << " ms (time to decision)\n";
  }
  if (args.max_false_accepts >= 0 && report["false_accepts"].get<double>() > args.max_false_accepts) return 5;
  return report["errors"].get<int>() > 0 ? 1 : 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* sub = app.add_subcommand("eval", "Run a routing corpus and report how the router did");
  sub->add_option("--policy", args->policy, "policy YAML file")->required()->check(CLI::ExistingFile);
  sub->add_option("--corpus", args->corpus, "corpus JSONL file")->required();
  sub->add_option("--audit", args->audit, "audit JSONL file (default: the policy's, else ./ladder-audit.jsonl)");
  sub->add_option("--split", args->split, "run only the corpus lines whose split field is this (check, dev)");
  sub->add_flag("--json", args->json, "print the report as one JSON object");
  sub->add_flag("--skip-frontier", args->skip_frontier, "record escalations without calling the upper tiers");
  sub->add_option("--max-false-accepts", args->max_false_accepts, "exit 5 when false accepts exceed this");
  return {sub, [args] { return run_eval(*args); }};
}

}  // namespace ladder::cli
