// The routing eval: corpus lines (shared/eval/README.md format) → per-case outcome →
// the report's figures. Pure: no model, no I/O beyond parsing text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/decision.h"
#include "ladder/status.h"

namespace ladder::cli {

struct EvalCase {
  std::string id;
  std::string task;
  std::string input;
  std::string expect_route;  // "local" | "frontier"
  std::optional<std::string> expect_label;
  std::optional<std::string> expect_reason;
  std::optional<std::string> expect_macro;
  std::optional<nlohmann::json> expect_args;
  std::optional<std::string> split;  // "check" | "dev" | ... (free text, for --split)
  std::size_t line = 0;              // line number in the corpus file
};

// One case per non-blank line. Errors name the line: "corpus.jsonl:7: expect.route: ...",
// "corpus.jsonl:9: duplicate id 'a' (first on line 2)"; a corpus without cases is an error.
Result<std::vector<EvalCase>> parse_corpus(std::string_view text, const std::string& source_name);

// Keeps the cases whose split is `split` (all when it is empty); none left is
// kInvalidArgument naming the corpus and the split.
Status keep_split(std::vector<EvalCase>& cases, const std::string& split, const std::string& source_name);

struct CaseOutcome {
  std::string id;
  std::string task;
  std::string expect_route;
  std::string route;  // what the router did ("error" when it refused the input)
  std::string reason;
  std::optional<std::string> expect_reason;
  std::string label, expect_label;
  std::string macro, expect_macro;
  nlohmann::json args, expect_args;
  bool local_ran = false;
  bool json_valid = false;
  std::optional<double> confidence;
  double decision_ms = 0.0;
  std::string error;
  std::string local_tier;  // the last local tier asked ("" when none was)
};

CaseOutcome score_case(const EvalCase& c, const Decision& d);
// The local answer was right: the case was expected local and its label and macro (where
// expected) matched.
bool answer_right(const CaseOutcome& o);
CaseOutcome error_case(const EvalCase& c, const Status& error);

// The report: cases, false_accepts, local_acceptance, label_accuracy, macro_accuracy,
// args_exact, json_validity, latency_ms {p50, p95, by_route}, counts, per-case results.
nlohmann::json make_report(const std::vector<CaseOutcome>& outcomes);

// Calibration of the accepted-answer confidence against being right (the case expected
// local and, for labelled cases, the label matched), over cases whose local tier gave a
// confidence: ece (10 equal-width bins, weighted by count), brier, reliability bins
// {lo, hi, n, mean_confidence, accuracy}, and per task the lowest threshold with 0 false
// accepts on these cases with the acceptance of expected-local cases it would give.
nlohmann::json calibration_report(const std::vector<CaseOutcome>& outcomes);

// Nearest-rank percentile of `values` (p in [0, 100]); 0 for an empty list.
double percentile(std::vector<double> values, double p);

}  // namespace ladder::cli
