// Tool-call log lines of `ladder distill` (src/distill/distill.cpp): JSONL → ToolCall
// (RFC 3339 or epoch timestamps), then the repeated-sequence search and the macro
// skeletons it suggests, as `ladder distill` runs them.
#include <string>

#include "distill/distill.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace distill = ladder::distill;
  const std::string_view text = ladder::fuzz::as_text(data, size);

  if (auto ts = distill::parse_rfc3339(text); ts.ok()) {
    LADDER_FUZZ_CHECK(ts->nanos >= 0 && ts->nanos < 1000000000);
  }

  auto calls = distill::parse_log(text, "fuzz-log.jsonl");
  if (!calls.ok()) {
    LADDER_FUZZ_CHECK(calls.status().code() == ladder::ErrorCode::kParseError);
    return 0;
  }
  for (const auto& call : *calls) LADDER_FUZZ_CHECK(call.args.is_object() && call.line >= 1);
  for (std::size_t k : {1, 2}) {
    auto sequences = distill::find_sequences(*calls, {k});
    LADDER_FUZZ_CHECK(sequences.ok());
    std::vector<distill::EncodedTools> macros;
    for (const auto& s : *sequences) {
      LADDER_FUZZ_CHECK(s.tools.size() >= 2 && s.steps.size() == s.tools.size());
      LADDER_FUZZ_CHECK(s.sessions.size() >= k);
      LADDER_FUZZ_CHECK(!s.name.empty() &&
                        s.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos);
      (void)distill::to_json(s).dump();
      macros.push_back({s.name, s.tools});
    }
    LADDER_FUZZ_CHECK(distill::mark_encoded(*sequences, macros) == 0);
  }
  return 0;
}
