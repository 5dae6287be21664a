#include "cli/eval_run.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

namespace ladder::cli {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// "\r[#####.....]  37/180  policy.yaml" on stderr, rewritten in place.
class Progress {
 public:
  Progress(bool on, std::size_t total, std::string label) : on_(on), total_(total), label_(std::move(label)) {}
  void step() {
    if (!on_) return;
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    constexpr std::size_t kWidth = 30;
    const std::size_t filled = total_ == 0 ? kWidth : done_ * kWidth / total_;
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r[%s] %zu/%zu %s", bar.c_str(), done_, total_, label_.c_str());
    if (done_ == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  bool on_;
  std::size_t total_, done_ = 0;
  std::string label_;
  std::mutex mu_;
};

}  // namespace

Status check_corpus_against_policy(const std::vector<EvalCase>& cases, const Config& config,
                                   const std::string& source) {
  for (const auto& c : cases) {
    const TaskConfig* task = config.find_task(c.task);
    if (!task) continue;
    auto at = [&](const std::string& what) {
      return make_error(ErrorCode::kInvalidArgument, source + ":" + std::to_string(c.line) + ": " + what);
    };
    if (c.expect_label) {
      if (task->labels.empty())
        return at("expect.label '" + *c.expect_label + "' given, but task '" + c.task + "' has no labels");
      if (std::find(task->labels.begin(), task->labels.end(), *c.expect_label) == task->labels.end())
        return at("expect.label '" + *c.expect_label + "' is not a label of task '" + c.task + "' (" +
                  joined(task->labels) + ")");
    }
    if (c.expect_macro && *c.expect_macro != "none" && !config.find_macro(*c.expect_macro)) {
      std::vector<std::string> ids;
      for (const auto& m : config.macros) ids.push_back(m.id);
      return at("expect.macro '" + *c.expect_macro + "' is not a macro of the policy (" + joined(ids) + ")");
    }
  }
  return {};
}

std::vector<Result<Decision>> route_cases(Router& router, const std::vector<EvalCase>& cases,
                                          const RouteCasesOptions& options) {
  std::vector<Result<Decision>> out(cases.size(), Result<Decision>(make_error(ErrorCode::kInternal, "not routed")));
  const int jobs = std::clamp(options.jobs > 0 ? options.jobs : router.local_parallelism(), 1,
                              static_cast<int>(std::max<std::size_t>(cases.size(), 1)));
  Progress progress(options.progress && isatty(STDERR_FILENO), cases.size(), options.label);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < cases.size(); i = next++) {
      RouteRequest req;
      req.task = cases[i].task;
      req.input = cases[i].input;
      req.request_id = cases[i].id;
      out[i] = router.route(req);
      progress.step();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < jobs; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  return out;
}

ScoredRun score_cases(const std::vector<EvalCase>& cases, const std::vector<Result<Decision>>& decisions) {
  ScoredRun run;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& d = decisions[i];
    if (!d.ok()) {
      run.outcomes.push_back(error_case(cases[i], d.status()));
      continue;
    }
    for (const auto& t : d->tiers)
      if (t.tier == 0 && t.ok && run.local_model.empty()) run.local_model = t.model;
    run.outcomes.push_back(score_case(cases[i], *d));
  }
  return run;
}

std::vector<std::string> gate_misses(const nlohmann::json& report, const ReleaseGateConfig& gate) {
  std::vector<std::string> misses;
  const auto& counts = report["counts"];
  auto below = [&](const char* name, const char* key, double bar, bool has_cases) {
    const double v = report[key].get<double>();
    if (has_cases && v < bar) misses.push_back(std::string(name) + " " + fixed3(v) + " < " + fixed3(bar));
  };
  below("JSON validity", "json_validity", gate.min_json_validity, counts["local_ran"].get<int>() > 0);
  below("label accuracy", "label_accuracy", gate.min_label_accuracy, counts["classify_accepted"].get<int>() > 0);
  below("local acceptance", "local_acceptance", gate.min_local_acceptance, counts["expect_local"].get<int>() > 0);
  const int fa = report["false_accepts"].get<int>();
  if (fa > gate.max_false_accepts)
    misses.push_back("false accepts " + std::to_string(fa) + " > " + std::to_string(gate.max_false_accepts));
  if (gate.max_ece && report["calibration"]["cases"].get<int>() > 0 && report["ece"].get<double>() > *gate.max_ece)
    misses.push_back("ECE " + fixed3(report["ece"].get<double>()) + " > " + fixed3(*gate.max_ece));
  return misses;
}

}  // namespace ladder::cli
