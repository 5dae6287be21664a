// "answer_length": the string content of a generate answer stays within checks.min_chars
// and checks.max_chars code points. An empty or runaway answer does not have the shape of
// an answer: schema_invalid.
#include <string>

#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "answer_length";

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

class AnswerLengthValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override {
    return is_generate_answer(ctx) && (ctx.task->checks.min_chars > 0 || ctx.task->checks.max_chars > 0);
  }

  ValidatorResult validate(ValidationContext& ctx) const override {
    const AnswerChecks& checks = ctx.task->checks;
    std::size_t chars = 0;
    for (const auto& [path, value] : answer_strings(*ctx.answer)) chars += code_points(value);
    const std::string measured = "answer has " + std::to_string(chars) + " characters";
    if (checks.min_chars > 0 && chars < static_cast<std::size_t>(checks.min_chars))
      return validator_fail(kName, Reason::kSchemaInvalid,
                            measured + ", under min_chars " + std::to_string(checks.min_chars));
    if (checks.max_chars > 0 && chars > static_cast<std::size_t>(checks.max_chars))
      return validator_fail(kName, Reason::kSchemaInvalid,
                            measured + ", over max_chars " + std::to_string(checks.max_chars));
    return validator_pass(kName, measured);
  }
};

}  // namespace

std::unique_ptr<Validator> make_answer_length_validator() { return std::make_unique<AnswerLengthValidator>(); }

}  // namespace ladder
