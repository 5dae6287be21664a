// Corpus lines of `ladder eval` (src/cli/eval_score.cpp): JSONL cases → EvalCase, or an
// error naming the line. Parsed cases are scored against an empty decision and a refused
// one and go into the report, as `ladder eval` does with the router's decisions.
#include <set>
#include <string>
#include <vector>

#include "cli/eval_score.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ladder::ErrorCode;
  auto cases = ladder::cli::parse_corpus(ladder::fuzz::as_text(data, size), "fuzz-corpus.jsonl");
  if (!cases.ok()) {
    LADDER_FUZZ_CHECK(cases.status().code() == ErrorCode::kInvalidArgument ||
                      cases.status().code() == ErrorCode::kParseError);
    LADDER_FUZZ_CHECK(cases.status().message().rfind("fuzz-corpus.jsonl", 0) == 0);
    return 0;
  }
  LADDER_FUZZ_CHECK(!cases->empty());
  std::set<std::string> ids;
  std::vector<ladder::cli::CaseOutcome> outcomes;
  for (const auto& c : *cases) {
    LADDER_FUZZ_CHECK(ids.insert(c.id).second);
    LADDER_FUZZ_CHECK(c.expect_route == "local" || c.expect_route == "frontier");
    ladder::Decision decision;
    decision.task = c.task;
    outcomes.push_back(ladder::cli::score_case(c, decision));
    outcomes.push_back(ladder::cli::error_case(c, ladder::make_error(ErrorCode::kNotFound, "unknown task")));
  }
  (void)ladder::cli::make_report(outcomes).dump();
  (void)ladder::cli::calibration_report(outcomes).dump();
  return 0;
}
