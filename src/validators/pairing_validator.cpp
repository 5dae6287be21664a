// "pairing": string arguments that the input writes together as a slash-joined pair
// ("nodejs/undici", "release/2.x") keep that pairing and its order. For consecutive free
// string arguments a, b (in the schema's argument order: required first), a part of the
// input that reads "P/Q" with Q == b requires a == P, one with P == a requires b == Q, and
// "b/a" is a swap; unless the input also writes exactly "a/b" somewhere.
// Arguments that share one value need the input to write it as often ("numpy/numpy").
// Catches swapped owner/repo, values cut out of a path and one word taken for two
// arguments, which substring grounding alone accepts.
#include <cctype>
#include <string>
#include <vector>

#include "validators/grounding.h"
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "pairing";

// Slash-joined runs of the input, each split into its parts.
std::vector<std::vector<std::string>> slash_runs(std::string_view input) {
  std::vector<std::vector<std::string>> runs;
  for (const auto& run : input_runs(input)) {
    if (run.find('/') == std::string::npos) continue;
    auto parts = split_slashes(run);
    runs.push_back(std::move(parts));
  }
  return runs;
}

class PairingValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override {
    return has_arguments(ctx) && argument_view(ctx).object->is_object();
  }

  ValidatorResult validate(ValidationContext& ctx) const override {
    ArgumentView view = argument_view(ctx);
    const auto order = free_string_order(*view.schema);
    const auto runs = slash_runs(ctx.input);
    for (std::size_t k = 0; k + 1 < order.size(); ++k) {
      const auto a = view.object->find(order[k]);
      const auto b = view.object->find(order[k + 1]);
      if (a == view.object->end() || b == view.object->end() || !a->is_string() || !b->is_string()) continue;
      const std::string va = a->get<std::string>(), vb = b->get<std::string>();
      // A pair of the input breaks this argument pair when b stands second after another
      // first part, a stands first before another second part, or the two are reversed.
      // An exact "a/b" anywhere in the input clears it ("acme/web and acme/api").
      std::string involved;
      bool exact = false;
      for (const auto& parts : runs) {
        for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
          const std::string& p = parts[i];
          const std::string& q = parts[i + 1];
          if (p == va && q == vb) exact = true;
          const bool broken = (q == vb && p != va) || (p == va && q != vb) || (p == vb && q == va);
          if (broken && involved.empty()) involved = p + "/" + q;
        }
      }
      if (!involved.empty() && !exact) {
        return validator_fail(kName, Reason::kArgsUngrounded,
                              "the input writes \"" + involved + "\" but " + order[k] + "=" + short_json(*a, 40) +
                                  ", " + order[k + 1] + "=" + short_json(*b, 40));
      }
    }
    // Arguments with one value need it written as many times ("numpy/numpy"): one mention
    // ("why is CI failing?") is not both the owner and the repository.
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto a = view.object->find(order[i]);
      if (a == view.object->end() || !a->is_string()) continue;
      const std::string value = normalize_for_grounding(a->get<std::string>());
      std::size_t same = 1;
      std::string names = order[i];
      for (std::size_t j = i + 1; j < order.size(); ++j) {
        const auto b = view.object->find(order[j]);
        if (b == view.object->end() || !b->is_string() || normalize_for_grounding(b->get<std::string>()) != value)
          continue;
        ++same;
        names += " and " + order[j];
      }
      if (same < 2) continue;
      const std::size_t written = occurrences_in(a->get<std::string>(), ctx.input, same);
      if (written >= same) continue;
      return validator_fail(kName, Reason::kArgsUngrounded,
                            names + " all read " + short_json(*a, 40) + ", which the input writes " +
                                (written == 0 ? std::string("nowhere") : std::to_string(written) + " time(s)"));
    }
    return validator_pass(kName);
  }
};

}  // namespace

std::unique_ptr<Validator> make_pairing_validator() { return std::make_unique<PairingValidator>(); }

}  // namespace ladder
