// ladder calibrate --policy FILE --corpus FILE [--corpus FILE ...] [--out FILE] [--folds K] [--split S]
//                  [--no-label-thresholds] [--audit FILE]
//
// Routes the corpora once (several --corpus files are read as one; escalations recorded,
// not called), takes each answer of the local tier's first model with its measured
// confidence and whether it was right, and per task fits Platt scaling and isotonic
// regression, k-fold cross-validated; the method with the lower out-of-fold log-loss is
// kept. Per label, the lowest calibrated threshold with 0 false accepts out of fold. A
// task with `evidence:` rules gets two mappings: one for the answers the evidence
// corroborated, one for the rest. The file is keyed by the model file's sha256
// (docs/calibration.md).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "calibration/calibration_file.h"
#include "calibration/fit.h"
#include "calibration/task_fit.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/eval_run.h"
#include "cli/eval_score.h"
#include "config/loader.h"
#include "validators/evidence.h"

namespace ladder::cli {
namespace {

struct CalibrateArgs {
  std::string policy;
  std::vector<std::string> corpora;
  std::string out;
  std::string audit;
  int folds = 5;
  bool no_label_thresholds = false;
  std::string split;
  int jobs = 0;
};

// One row of the report: the fit's figures and its per-label thresholds ("none": no
// threshold accepts that label without a wrong answer).
void print_fit(const std::string& name, const calibration::TaskCalibration& t, const std::set<std::string>& labels) {
  std::string thresholds;
  for (const auto& label : labels) {
    auto it = t.label_thresholds.find(label);
    thresholds += (thresholds.empty() ? "" : " ") + (label.empty() ? std::string("(any)") : label) + "=" +
                  (it == t.label_thresholds.end() ? std::string("none") : std::to_string(it->second));
  }
  std::printf("%-28s %5zu %-9s %8.4f %8.4f %8.4f %9.4f  %s\n", name.c_str(), t.samples,
              calibration::method_name(t.method), t.raw_ece, t.oof_ece, t.oof_brier, t.oof_log_loss,
              thresholds.c_str());
}

// The lines of every corpus file, each file filtered to the split on its own.
Result<std::vector<EvalCase>> read_corpora(const std::vector<std::string>& files, const std::string& split) {
  std::vector<EvalCase> all;
  for (const auto& file : files) {
    auto text = read_input(file);
    if (!text.ok()) return text.status();
    auto cases = parse_corpus(*text, file);
    if (!cases.ok()) return cases.status();
    if (Status kept = keep_split(*cases, split, file); !kept.ok()) return kept;
    for (auto& c : *cases) all.push_back(std::move(c));
  }
  return all;
}

int run_calibrate(const CalibrateArgs& args) {
  std::string corpus_label;
  for (const auto& file : args.corpora) corpus_label += (corpus_label.empty() ? "" : ", ") + file;
  auto cases = read_corpora(args.corpora, args.split);
  if (!cases.ok()) return report_error(cases.status());
  auto config = load_policy_file(args.policy);
  if (!config.ok()) return report_error(config.status());
  if ((*config)->tiers.empty() || (*config)->tiers.front().models.empty())
    return report_error(make_error(ErrorCode::kConfigInvalid, args.policy + ": the policy has no local tier"));
  // The decision's confidence is the last local tier's: with a ladder, the answers of a
  // later tier would be taken for the first model's.
  if ((*config)->tiers.size() > 1 && (*config)->tiers[1].local)
    return report_error(make_error(ErrorCode::kConfigInvalid,
                                   args.policy + ": calibrate fits the first local tier's model, and tier '" +
                                       (*config)->tiers[1].name +
                                       "' is local too; calibrate each model with a policy of one local tier"));
  const std::string model_name = (*config)->tiers.front().models.front();
  const auto model_it = (*config)->models.find(model_name);
  if (model_it == (*config)->models.end() || model_it->second.backend != "embedded")
    return report_error(make_error(ErrorCode::kConfigInvalid, "model '" + model_name +
                                                                  "': calibration is keyed by a model file; only "
                                                                  "embedded models have one"));
  auto sha = calibration::file_sha256(model_it->second.model_path);
  if (!sha.ok()) return report_error(sha.status());

  RouterOptions options;
  options.skip_escalation_calls = true;
  auto router = open_router(args.policy, args.audit, options);
  if (!router.ok()) return report_error(router.status());

  if (auto s = check_corpus_against_policy(*cases, (*router)->config(), corpus_label); !s.ok()) return report_error(s);
  RouteCasesOptions ro;
  ro.jobs = args.jobs;
  ro.progress = true;
  ro.label = corpus_label;
  const auto decisions = route_cases(**router, *cases, ro);
  std::map<std::string, std::vector<calibration::TaskAnswer>> by_task;
  std::size_t without_answer = 0;
  for (std::size_t i = 0; i < cases->size(); ++i) {
    const auto& d = decisions[i];
    if (!d.ok()) return report_error(d.status());
    bool from_model = false;
    for (const auto& t : d->tiers)
      if (t.tier == 0 && t.ok && t.model_name == model_name) from_model = true;
    if (!from_model || !d->confidence) {
      ++without_answer;  // escalated before the model answered, or the model failed
      continue;
    }
    const CaseOutcome o = score_case((*cases)[i], *d);
    // Fit on the measured value even when the policy already calibrates this model.
    by_task[o.task].push_back(
        {{d->measured_confidence.value_or(*d->confidence), answer_right(o)}, d->label, evidence_corroborates(*d)});
  }

  if (without_answer > 0)
    std::fprintf(stderr, "%zu of %zu cases have no confidence from model '%s' and are left out\n", without_answer,
                 cases->size(), model_name.c_str());
  calibration::ModelCalibration model;
  model.model_sha256 = *sha;
  model.model_file = std::filesystem::path(model_it->second.model_path).filename().string();
  std::printf("%-28s %5s %-9s %8s %8s %8s %9s  %s\n", "task", "n", "method", "raw ECE", "OOF ECE", "OOF Brier",
              "OOF logl", "0-FA thresholds (out of fold)");
  for (const auto& [task, answers] : by_task) {
    const TaskConfig* config_task = (*router)->config().find_task(task);
    const bool by_evidence = config_task && !config_task->evidence.empty();
    auto t = calibration::fit_task(answers, args.folds, by_evidence);
    if (!t.ok()) {
      std::fprintf(stderr, "task %s: not calibrated: %s\n", task.c_str(), t.status().message().c_str());
      continue;
    }
    std::set<std::string> labels;
    for (const auto& a : answers) labels.insert(a.label);
    print_fit(task, *t, labels);
    if (t->corroborated) print_fit(task + " (corroborated)", *t->corroborated, labels);
    if (args.no_label_thresholds) calibration::drop_label_thresholds(*t);  // printed, not written
    model.tasks[task] = std::move(t).value();
  }
  if (model.tasks.empty())
    return report_error(
        make_error(ErrorCode::kInvalidArgument, corpus_label + ": no task had enough local answers to calibrate with " +
                                                    std::to_string(args.folds) + " folds"));
  const std::string doc = calibration::to_json_text(model);
  if (args.out.empty()) {
    std::cout << doc;
    return 0;
  }
  std::ofstream out(args.out, std::ios::binary | std::ios::trunc);
  if (!(out << doc)) return report_error(make_error(ErrorCode::kUnavailable, "cannot write '" + args.out + "'"));
  std::printf("wrote %s for %s (sha256 %s)\n", args.out.c_str(), model.model_file.c_str(), model.model_sha256.c_str());
  return 0;
}

}  // namespace

Command add_calibrate_command(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* sub =
      app.add_subcommand("calibrate", "Fit calibrated confidence per task from a labelled corpus (cross-validated)");
  sub->add_option("--policy", args->policy, "policy YAML file")->required()->check(CLI::ExistingFile);
  sub->add_option("--corpus", args->corpora, "corpus JSONL file; repeat it to fit on several")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--out", args->out, "calibration JSON file to write (default: standard output)");
  sub->add_option("--folds", args->folds, "cross-validation folds")->check(CLI::Range(2, 100));
  sub->add_option("--split", args->split, "fit on the corpus lines whose split field is this only (dev)");
  sub->add_flag("--no-label-thresholds", args->no_label_thresholds,
                "write the mappings only: the task's min_confidence is the bar for every label");
  sub->add_option("--jobs", args->jobs, "cases routed at once (default: what the local tier serves in parallel)")
      ->check(CLI::Range(0, 64));
  sub->add_option("--audit", args->audit, "audit JSONL file (default: the policy's, else ./ladder-audit.jsonl)");
  return {sub, [args] { return run_calibrate(*args); }};
}

}  // namespace ladder::cli
