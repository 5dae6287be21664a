// Running a corpus through a router, shared by `ladder eval`, `ladder calibrate` and
// `ladder sweep`: the corpus checked against the policy it runs on, the cases routed
// (concurrently where the local tier allows it) with a progress line on a terminal, and
// the policy's release gate applied to a report.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/eval_score.h"
#include "ladder/config.h"
#include "ladder/status.h"
#include "router/router.h"

namespace ladder::cli {

// An expected label outside its task's labels, a label for a task without labels, or an
// expected macro the policy does not register (other than "none") is kInvalidArgument
// naming the line: "corpus.jsonl:12: expect.label 'flaky' is not a label of task
// 'classify_issue' (build, test, ...)". Lines of tasks the policy does not define pass
// (they test unknown_task).
Status check_corpus_against_policy(const std::vector<EvalCase>& cases, const Config& config, const std::string& source);

struct RouteCasesOptions {
  int jobs = 0;           // threads routing cases; 0: the router's local_parallelism()
  bool progress = false;  // a progress line on stderr
  std::string label;      // shown before the progress line (e.g. the policy file)
};

// One decision (or routing error) per case, in case order. Time to decision is measured
// per case inside the router, so jobs above the local tier's parallelism would count
// queueing as latency: the default does not exceed it.
std::vector<Result<Decision>> route_cases(Router& router, const std::vector<EvalCase>& cases,
                                          const RouteCasesOptions& options);

// The cases scored: outcomes in case order and the tier-0 model that answered first.
struct ScoredRun {
  std::vector<CaseOutcome> outcomes;
  std::string local_model;
};
ScoredRun score_cases(const std::vector<EvalCase>& cases, const std::vector<Result<Decision>>& decisions);

// The bars of the policy's release_gate that `report` (make_report's object) misses, each
// as "label accuracy 0.812 < 0.950"; empty when the report passes. A bar whose figure has
// no cases behind it (no local answer, no accepted classify case) is not missed.
std::vector<std::string> gate_misses(const nlohmann::json& report, const ReleaseGateConfig& gate);

}  // namespace ladder::cli
