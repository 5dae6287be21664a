// "number_binding": an integer argument takes a number the input writes for it. When the
// input binds numbers to an argument's noun ("the last 2 runs" for runCount, "pull
// request 1290" for prNumber; validators/number_binding.h), the argument must be one of
// them, even where it equals its default; and an argument the input binds nothing to
// must not take a number the input binds to another argument ("find 3 reviewers for pull
// request 1290" with prNumber=3). Catches a number put in the wrong argument, or a stated
// count dropped for the default, which grounding alone accepts since the number does
// occur in the input. A name argument that holds the noun of an integer argument ("repo"
// "issue" in "label issue 318") fails too.
#include <algorithm>
#include <string>
#include <vector>

#include "validators/grounding.h"
#include "validators/json_schema.h"
#include "validators/number_binding.h"
#include "validators/validators.h"

namespace ladder {
namespace {

constexpr std::string_view kName = "number_binding";

bool binds(const std::vector<NumberBinding>& bound, long long value) {
  return std::any_of(bound.begin(), bound.end(), [&](const NumberBinding& b) { return b.value == value; });
}

class NumberBindingValidator final : public Validator {
 public:
  std::string_view name() const override { return kName; }
  bool applies(const ValidationContext& ctx) const override {
    return has_arguments(ctx) && argument_view(ctx).object->is_object();
  }

  ValidatorResult validate(ValidationContext& ctx) const override {
    ArgumentView view = argument_view(ctx);
    if (!view.schema->contains("properties") || !(*view.schema)["properties"].is_object()) return validator_pass(kName);
    const auto& props = (*view.schema)["properties"];
    const nlohmann::json args = apply_schema_defaults(*view.schema, *view.object);

    struct Integer {
      std::string name;
      long long value;
      const nlohmann::json* schema;
      std::vector<NumberBinding> bound;
    };
    std::vector<Integer> integers;
    for (const auto& [name, prop] : props.items()) {
      if (!prop.is_object() || prop.value("type", "") != "integer") continue;
      const auto it = args.find(name);
      if (it == args.end() || !it->is_number_integer()) continue;
      integers.push_back({name, it->get<long long>(), &prop, numbers_bound_to(name, ctx.input)});
    }

    for (const auto& arg : integers) {
      if (!arg.bound.empty()) {
        if (binds(arg.bound, arg.value)) continue;
        return validator_fail(
            kName, Reason::kArgsUngrounded,
            arg.name + "=" + std::to_string(arg.value) + " but the input writes \"" + arg.bound.front().text + "\"");
      }
      const auto def = arg.schema->find("default");
      if (def != arg.schema->end() && def->is_number_integer() && def->get<long long>() == arg.value) continue;
      for (const auto& other : integers) {
        if (&other == &arg) continue;
        for (const auto& b : other.bound) {
          if (b.value != arg.value) continue;
          return validator_fail(kName, Reason::kArgsUngrounded,
                                arg.name + "=" + std::to_string(arg.value) + " but the input writes \"" + b.text +
                                    "\", which is " + other.name);
        }
      }
    }
    // A name argument holding the noun that introduces an integer argument ("label issue
    // 318" with repo "issue") took the request's wording for a value.
    for (const auto& name : free_string_order(*view.schema)) {
      const auto it = args.find(name);
      if (it == args.end() || !it->is_string()) continue;
      for (const auto& arg : integers) {
        if (!is_argument_noun(arg.name, it->get<std::string>())) continue;
        return validator_fail(kName, Reason::kArgsUngrounded,
                              name + "=" + short_json(*it, 40) + " is the word that introduces " + arg.name);
      }
    }
    return validator_pass(kName);
  }
};

}  // namespace

std::unique_ptr<Validator> make_number_binding_validator() { return std::make_unique<NumberBindingValidator>(); }

}  // namespace ladder
