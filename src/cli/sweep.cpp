// ladder sweep --policy FILE --corpus FILE [--model NAME|GGUF]... [--thresholds LIST]
//              [--temperatures LIST] [--task NAME] [--split S] [--json]
//
// One table over local models × calibration × temperature × threshold: false accepts,
// local acceptance, label accuracy, ECE and p50, so that a configuration is chosen per
// model on evidence. Each model routes the corpus once with every confidence bar off
// (min_confidence 0, no calibration file); the bars are then applied to the measured
// confidences, which gives the decisions a run with those settings would give (the
// router's decisions are deterministic and the confidence bar is its last check).
// "temperature" is temperature scaling of the measured confidence, σ(logit(p)/T).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/eval_run.h"
#include "cli/eval_score.h"
#include "config/loader.h"
#include "router/fitted_calibration.h"
#include "validators/evidence.h"

namespace ladder::cli {
namespace {

struct SweepArgs {
  std::string policy;
  std::string corpus;
  std::vector<std::string> models;
  std::vector<double> thresholds = {0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
  std::vector<double> temperatures = {1.0};
  std::string task;
  std::string split;
  int jobs = 0;
  bool json = false;
};

struct Variant {
  std::string name;
  ModelConfig model;
};

// The models to sweep: names under models: (embedded) or GGUF files, which take the
// settings of the local tier's first model; default: that model alone.
Result<std::vector<Variant>> variants_of(const Config& config, const std::vector<std::string>& asked) {
  const std::string& first = config.tiers.front().models.front();
  auto base = config.models.find(first);
  if (base == config.models.end())
    return make_error(ErrorCode::kConfigInvalid, "the local tier's model '" + first + "' is not under models:");
  std::vector<Variant> out;
  if (asked.empty()) out.push_back({first, base->second});
  for (const auto& a : asked) {
    if (auto it = config.models.find(a); it != config.models.end()) {
      if (it->second.backend != "embedded")
        return make_error(ErrorCode::kInvalidArgument, "--model " + a + ": only local (embedded) models are swept");
      out.push_back({a, it->second});
      continue;
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(a, ec))
      return make_error(ErrorCode::kNotFound, "--model " + a + ": neither a model of the policy nor a file");
    Variant v{std::filesystem::path(a).stem().string(), base->second};
    v.model.model_path = a;
    v.model.calibration_file.clear();
    out.push_back(std::move(v));
  }
  return out;
}

double temperature_scaled(double p, double t) {
  if (t == 1.0) return p;
  const double q = std::clamp(p, 1e-9, 1.0 - 1e-9);
  return 1.0 / (1.0 + std::exp(-std::log(q / (1.0 - q)) / t));
}

// The decision a run with these bars would have given.
Decision with_bars(const Decision& measured, const FittedCalibration* fit, double temperature, double threshold) {
  Decision d = measured;
  if (!d.confidence) {
    if (d.route == "local" && threshold > 0.0) {
      d.route = "frontier";
      d.reason = Reason::kConfidenceLow;
    }
    return d;
  }
  double p = *d.confidence;
  double bar = threshold;
  bool no_safe_threshold = false;
  if (fit) {
    const FittedCalibration& f = fit->for_answer(evidence_corroborates(measured));
    p = f.map(p);
    if (!f.thresholds.empty()) {
      auto it = f.thresholds.find(d.label);
      if (it == f.thresholds.end())
        no_safe_threshold = true;
      else
        bar = std::max(bar, it->second);
    }
  }
  p = temperature_scaled(p, temperature);
  d.measured_confidence = measured.confidence;
  d.confidence = p;
  if (d.route == "local" && (no_safe_threshold || p < bar)) {
    d.route = "frontier";
    d.reason = Reason::kConfidenceLow;
  }
  return d;
}

std::string fmt(const char* f, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

int run_sweep(const SweepArgs& args) {
  auto text = read_input(args.corpus);
  if (!text.ok()) return report_error(text.status());
  auto cases = parse_corpus(*text, args.corpus);
  if (!cases.ok()) return report_error(cases.status());
  std::erase_if(*cases, [&](const EvalCase& c) {
    return (!args.split.empty() && c.split != args.split) || (!args.task.empty() && c.task != args.task);
  });
  if (cases->empty())
    return report_error(make_error(ErrorCode::kInvalidArgument, args.corpus + ": no case matches --split/--task"));
  auto loaded = load_policy_file(args.policy);
  if (!loaded.ok()) return report_error(loaded.status());
  if (auto s = check_corpus_against_policy(*cases, **loaded, args.corpus); !s.ok()) return report_error(s);
  auto variants = variants_of(**loaded, args.models);
  if (!variants.ok()) return report_error(variants.status());

  nlohmann::json rows = nlohmann::json::array();
  if (!args.json)
    std::printf("%-22s %-9s %5s %6s %4s %8s %8s %7s %8s\n", "model", "calib", "T", "thr", "FA", "accept", "label",
                "ECE", "p50 ms");
  for (const auto& v : *variants) {
    // The fitted calibration of this model file, when the policy gives it one.
    FittedCalibrations fitted;
    if (!v.model.calibration_file.empty()) {
      Config one;
      one.models[v.name] = v.model;
      auto f = load_fitted_calibrations(one);
      if (!f.ok()) return report_error(f.status());
      fitted = std::move(f).value();
    }
    auto config = std::make_shared<Config>(**loaded);
    ModelConfig m = v.model;
    m.name = v.name;
    m.calibration_file.clear();
    config->models[v.name] = m;
    config->tiers.front().models = {v.name};
    for (auto& [name, task] : config->tasks) task.min_confidence = 0.0;
    RouterOptions options;
    options.skip_escalation_calls = true;
    auto router = Router::create(config, nullptr, options);
    if (!router.ok()) return report_error(router.status());
    RouteCasesOptions ro;
    ro.jobs = args.jobs;
    ro.progress = !args.json;
    ro.label = v.name;
    const auto decisions = route_cases(**router, *cases, ro);

    std::vector<std::string> calibrations = {"none"};
    if (!fitted.empty()) calibrations.push_back("file");
    for (const auto& calib : calibrations) {
      for (double t : args.temperatures) {
        for (double thr : args.thresholds) {
          std::vector<Result<Decision>> barred;
          for (std::size_t i = 0; i < decisions.size(); ++i) {
            if (!decisions[i].ok()) {
              barred.push_back(decisions[i]);
              continue;
            }
            const FittedCalibration* fit = nullptr;
            if (calib == "file") {
              auto& tasks = fitted.begin()->second;
              auto it = tasks.find((*cases)[i].task);
              if (it != tasks.end()) fit = &it->second;
            }
            barred.push_back(with_bars(*decisions[i], fit, t, thr));
          }
          const auto report = make_report(score_cases(*cases, barred).outcomes);
          nlohmann::json row = {{"model", v.name},
                                {"model_file", std::filesystem::path(v.model.model_path).filename().string()},
                                {"calibration", calib},
                                {"temperature", t},
                                {"threshold", thr},
                                {"false_accepts", report["false_accepts"]},
                                {"local_acceptance", report["local_acceptance"]},
                                {"label_accuracy", report["label_accuracy"]},
                                {"macro_accuracy", report["macro_accuracy"]},
                                {"ece", report["ece"]},
                                {"p50_ms", report["latency_ms"]["p50"]},
                                {"errors", report["errors"]}};
          if (!args.json)
            std::printf("%-22s %-9s %5s %6s %4d %8s %8s %7s %8s\n", v.name.c_str(), calib.c_str(),
                        fmt("%.2g", t).c_str(), fmt("%.2f", thr).c_str(), report["false_accepts"].get<int>(),
                        fmt("%.1f%%", 100 * report["local_acceptance"].get<double>()).c_str(),
                        fmt("%.1f%%", 100 * report["label_accuracy"].get<double>()).c_str(),
                        fmt("%.3f", report["ece"].get<double>()).c_str(),
                        fmt("%.0f", report["latency_ms"]["p50"].get<double>()).c_str());
          rows.push_back(std::move(row));
        }
      }
    }
  }
  if (args.json)
    std::cout << nlohmann::json{{"policy", args.policy},
                                {"corpus", args.corpus},
                                {"cases", cases->size()},
                                {"rows", rows}}
                     .dump(2)
              << "\n";
  return 0;
}

}  // namespace

Command add_sweep_command(CLI::App& app) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* sub = app.add_subcommand(
      "sweep",
      "Route a corpus with each local model and tabulate false accepts, acceptance, accuracy, ECE, p50 "
      "over calibration × temperature × threshold");
  sub->add_option("--policy", args->policy, "policy YAML file")->required()->check(CLI::ExistingFile);
  sub->add_option("--corpus", args->corpus, "corpus JSONL file")->required()->check(CLI::ExistingFile);
  sub->add_option("--model", args->models,
                  "a local model: a name under models: or a GGUF file (settings of the local tier's model); "
                  "repeatable; default: the local tier's first model");
  sub->add_option("--thresholds", args->thresholds, "confidence thresholds (comma-separated)")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--temperatures", args->temperatures, "confidence temperatures (comma-separated, > 0)")
      ->delimiter(',')
      ->check(CLI::Range(0.05, 20.0));
  sub->add_option("--task", args->task, "only this task's lines");
  sub->add_option("--split", args->split, "only lines whose split field is this");
  sub->add_option("--jobs", args->jobs, "cases routed at once (default: what the local tier serves in parallel)")
      ->check(CLI::Range(0, 64));
  sub->add_flag("--json", args->json, "print {policy, corpus, cases, rows: [...]}");
  return {sub, [args] { return run_sweep(*args); }};
}

}  // namespace ladder::cli
