// "verbatim_copy": a generate answer that repeats the input is not a summary. Two
// measures, both on normalised text (grounding.h):
//  - the share of the input's distinct lines (12+ characters) that the answer repeats,
//    judged when the input has at least 4 such lines, must not pass checks.max_copy_ratio;
//  - a free-text field (one not in checks.grounded) of 40+ characters must not be made
//    mostly (80%+) of input lines.
// A copy does not have the shape of the answer asked for: schema_invalid.
#include <cstdio>
#include <set>
#include <string>

#include "validators/grounding.h"
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "verbatim_copy";
constexpr std::size_t kMinLineChars = 12;
constexpr std::size_t kMinLinesToJudge = 4;
constexpr std::size_t kMinFreeTextChars = 40;
constexpr double kFreeTextCopyShare = 0.8;

std::vector<std::string> input_lines(std::string_view input) {
  std::set<std::string> seen;
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos <= input.size()) {
    std::size_t nl = input.find('\n', pos);
    if (nl == std::string_view::npos) nl = input.size();
    std::string line = normalize_for_grounding(input.substr(pos, nl - pos));
    pos = nl + 1;
    if (line.size() >= kMinLineChars && seen.insert(line).second) lines.push_back(std::move(line));
  }
  return lines;
}

std::string ratio(double r) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}

class VerbatimCopyValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override { return is_generate_answer(ctx); }

  ValidatorResult validate(ValidationContext& ctx) const override {
    const AnswerChecks& checks = ctx.task->checks;
    const std::vector<std::string> lines = input_lines(ctx.input);
    std::string all;
    for (const auto& [path, value] : answer_strings(*ctx.answer)) all += normalize_for_grounding(value) + "\n";

    if (lines.size() >= kMinLinesToJudge) {
      std::size_t repeated = 0;
      for (const auto& line : lines) repeated += all.find(line) != std::string::npos ? 1 : 0;
      const double share = static_cast<double>(repeated) / static_cast<double>(lines.size());
      if (share > checks.max_copy_ratio)
        return validator_fail(kName, Reason::kSchemaInvalid,
                              "answer repeats " + std::to_string(repeated) + " of " + std::to_string(lines.size()) +
                                  " input lines (" + ratio(share) + " > max_copy_ratio " +
                                  ratio(checks.max_copy_ratio) + ")");
    }
    for (const auto& [path, value] : answer_strings(*ctx.answer, checks.grounded)) {
      const std::string text = normalize_for_grounding(value);
      if (text.size() < kMinFreeTextChars) continue;
      std::size_t copied = 0;
      for (const auto& line : lines)
        if (text.find(line) != std::string::npos) copied += line.size();
      const double share = static_cast<double>(copied) / static_cast<double>(text.size());
      if (share >= kFreeTextCopyShare)
        return validator_fail(kName, Reason::kSchemaInvalid,
                              path + " is " + ratio(share) + " lines copied from the input, not a summary");
    }
    return validator_pass(kName);
  }
};

}  // namespace

std::unique_ptr<Validator> make_verbatim_copy_validator() { return std::make_unique<VerbatimCopyValidator>(); }

}  // namespace ladder
