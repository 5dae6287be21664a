// ladder eval --policy FILE --corpus FILE [--json] [--gate] [--compare OTHER] [--jobs N]
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/eval_run.h"
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
  bool gate = false;
  std::string compare;
  int jobs = 0;
  bool progress = true;
};

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", v * 100.0);
  return buf;
}

struct PolicyRun {
  nlohmann::json report;
  std::string local_model;
};

Result<PolicyRun> run_policy(const std::string& policy, const std::vector<EvalCase>& cases, const EvalArgs& args) {
  RouterOptions options;
  options.skip_escalation_calls = args.skip_frontier;
  auto router = open_router(policy, args.audit, options);
  if (!router.ok()) return router.status();
  if (auto s = check_corpus_against_policy(cases, (*router)->config(), args.corpus); !s.ok()) return s;
  RouteCasesOptions ro;
  ro.jobs = args.jobs;
  ro.progress = args.progress;
  ro.label = policy;
  auto run = score_cases(cases, route_cases(**router, cases, ro));
  PolicyRun out{make_report(run.outcomes), run.local_model};
  out.report["policy"] = policy;
  out.report["corpus"] = args.corpus;
  out.report["local_model"] = run.local_model;
  if (!args.gate) return out;
  auto misses = gate_misses(out.report, (*router)->config().release_gate);
  out.report["gate"] = {{"passed", misses.empty()}, {"missed", misses}};
  return out;
}

void print_results(const nlohmann::json& report) {
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
}

std::string number(const nlohmann::json& v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v.get<double>());
  return buf;
}

// The summary figures, one row each: name, then the value in each report.
void print_summary(const std::vector<const nlohmann::json*>& reports) {
  auto row = [&](const char* name, const std::function<std::string(const nlohmann::json&)>& cell) {
    std::printf("%-17s", name);
    for (const auto* r : reports) std::printf(" %-22s", cell(*r).c_str());
    std::printf("\n");
  };
  auto share = [](const char* key) { return [key](const nlohmann::json& r) { return pct(r[key]); }; };
  row("model", [](const nlohmann::json& r) { return r["local_model"].get<std::string>(); });
  row("cases", [](const nlohmann::json& r) { return r["cases"].dump() + " (errors " + r["errors"].dump() + ")"; });
  row("false accepts", [](const nlohmann::json& r) { return r["false_accepts"].dump(); });
  row("local acceptance", share("local_acceptance"));
  row("label accuracy", share("label_accuracy"));
  row("macro accuracy", share("macro_accuracy"));
  row("args exact", share("args_exact"));
  row("JSON validity", share("json_validity"));
  row("ECE (10 bins)", [](const nlohmann::json& r) { return number(r["ece"]); });
  row("Brier score", [](const nlohmann::json& r) { return number(r["brier"]); });
  row("p50/p95 ms",
      [](const nlohmann::json& r) { return number(r["latency_ms"]["p50"]) + " / " + number(r["latency_ms"]["p95"]); });
  if (reports.size() != 1) return;
  const auto& report = *reports.front();
  if (report["by_local_tier"].size() > 1)
    for (const auto& [tier, t] : report["by_local_tier"].items())
      std::cout << "local tier       " << tier << ": last asked " << t["asked_last"] << ", accepted " << t["accepted"]
                << " (false accepts " << t["false_accepts"] << ")\n";
  for (const auto& [task, t] : report["calibration"]["by_task"].items()) {
    std::cout << "0-FA threshold   " << task << ": "
              << (t["threshold_zero_false_accepts"].is_null() ? std::string("none")
                                                              : number(t["threshold_zero_false_accepts"]))
              << " (acceptance " << pct(t["acceptance"]) << ")\n";
  }
}

// Cases the two policies decided differently (route, label or macro).
nlohmann::json disagreements(const nlohmann::json& a, const nlohmann::json& b) {
  nlohmann::json out = nlohmann::json::array();
  const auto& ra = a["results"];
  const auto& rb = b["results"];
  auto value = [](const nlohmann::json& r, const char* key) { return r.value(key, std::string()); };
  for (std::size_t i = 0; i < ra.size() && i < rb.size(); ++i) {
    bool same = true;
    for (const char* key : {"route", "label", "macro"}) same = same && value(ra[i], key) == value(rb[i], key);
    if (same) continue;
    auto side = [&](const nlohmann::json& r) {
      nlohmann::json s = {{"route", r["route"]}, {"ok", r["ok"]}};
      for (const char* key : {"label", "macro", "reason", "confidence"})
        if (r.contains(key)) s[key] = r[key];
      return s;
    };
    nlohmann::json d = {
        {"id", ra[i]["id"]}, {"expect_route", ra[i]["expect_route"]}, {"a", side(ra[i])}, {"b", side(rb[i])}};
    if (ra[i].contains("expect_label")) d["expect_label"] = ra[i]["expect_label"];
    if (ra[i].contains("expect_macro")) d["expect_macro"] = ra[i]["expect_macro"];
    out.push_back(std::move(d));
  }
  return out;
}

void print_disagreements(const nlohmann::json& list) {
  std::cout << "\n" << list.size() << " case(s) decided differently (a | b | expected):\n";
  auto cell = [](const nlohmann::json& s) {
    std::string c = s["route"].get<std::string>();
    if (s.contains("label")) c += " " + s["label"].get<std::string>();
    if (s.contains("macro") && !s["macro"].get<std::string>().empty()) c += " " + s["macro"].get<std::string>();
    return c + (s["ok"].get<bool>() ? "" : " (wrong)");
  };
  for (const auto& d : list) {
    std::string expected = d["expect_route"].get<std::string>();
    if (d.contains("expect_label") && d["expect_label"].is_string())
      expected += " " + d["expect_label"].get<std::string>();
    if (d.contains("expect_macro") && d["expect_macro"].is_string())
      expected += " " + d["expect_macro"].get<std::string>();
    std::printf("  %-24s %-28s | %-28s | %s\n", d["id"].get<std::string>().c_str(), cell(d["a"]).c_str(),
                cell(d["b"]).c_str(), expected.c_str());
  }
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
  if (Status kept = keep_split(*cases, args.split, args.corpus); !kept.ok()) return report_error(kept);
  auto a = run_policy(args.policy, *cases, args);
  if (!a.ok()) return report_error(a.status());
  const nlohmann::json& report = a->report;
  std::optional<PolicyRun> b;
  if (!args.compare.empty()) {
    auto other = run_policy(args.compare, *cases, args);
    if (!other.ok()) return report_error(other.status());
    b = std::move(other).value();
  }
  nlohmann::json diff = b ? disagreements(report, b->report) : nlohmann::json();

  if (args.json) {
    nlohmann::json out = b ? nlohmann::json{{"a", report}, {"b", b->report}, {"disagreements", diff}} : report;
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (b) {
    std::printf("%-17s %-22s %-22s\n", "", "a", "b");
    std::printf("%-17s %-22s %-22s\n", "policy", args.policy.c_str(), args.compare.c_str());
    print_summary({&report, &b->report});
    print_disagreements(diff);
  } else {
    print_results(report);
    std::cout << "\n";
    print_summary({&report});
  }
  int rc = report["errors"].get<int>() > 0 ? 1 : 0;
  if (args.max_false_accepts >= 0 && report["false_accepts"].get<double>() > args.max_false_accepts) rc = 5;
  if (args.gate) {
    const auto& missed = report["gate"]["missed"];
    if (missed.empty()) {
      std::cerr << "gate: passed (" << args.policy << ")\n";
    } else {
      for (const auto& m : missed) std::cerr << "gate: missed: " << m.get<std::string>() << "\n";
      rc = 6;
    }
  }
  return rc;
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
  sub->add_flag("--gate", args->gate,
                "apply the policy's release_gate (default: JSON validity >= 99 %, label accuracy >= 95 %, 0 false "
                "accepts); exit 6 naming each bar missed");
  sub->add_option("--compare", args->compare,
                  "a second policy run on the same corpus: side-by-side figures and the cases decided differently")
      ->check(CLI::ExistingFile);
  sub->add_option("--jobs", args->jobs, "cases routed at once (default: what the local tier serves in parallel)")
      ->check(CLI::Range(0, 64));
  sub->add_flag("!--no-progress", args->progress, "no progress line on a terminal");
  return {sub, [args] { return run_eval(*args); }};
}

}  // namespace ladder::cli
