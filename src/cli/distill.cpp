// ladder distill --log FILE [--policy FILE] [--threshold N] [--min-sessions K] [--json]
// Finds tool-call sequences that repeat across agent sessions and suggests a macro
// skeleton for each. Exit 1 when more than N sequences are unencoded, 0 otherwise,
// 2 on bad input. See docs/distill.md.
#include <cstddef>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "config/loader.h"
#include "distill/distill.h"

namespace ladder::cli {
namespace {

constexpr std::size_t kMaxFlagValue = 1'000'000'000;

struct DistillArgs {
  std::string log;
  std::string policy;
  std::size_t threshold = 0;
  std::size_t min_sessions = 2;
  bool json = false;
};

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

void print_sequence(const distill::Sequence& seq) {
  std::cout << seq.name << "  (" << seq.tools.size() << " steps, " << seq.sessions.size() << " sessions, "
            << seq.occurrences << " occurrences, "
            << (seq.encoded_by.empty() ? "unencoded" : "encoded by " + seq.encoded_by) << ")\n";
  std::cout << "  sessions: ";
  for (std::size_t i = 0; i < seq.sessions.size(); ++i) std::cout << (i ? ", " : "") << seq.sessions[i];
  std::cout << "\n";
  for (std::size_t i = 0; i < seq.steps.size(); ++i) {
    const auto& step = seq.steps[i];
    std::cout << "  " << i << ". " << step.tool;
    for (const auto& arg : step.args) {
      std::cout << " " << arg.name << "=";
      switch (arg.role) {
        case distill::ArgRole::kConstant:
          std::cout << dump(arg.value);
          break;
        case distill::ArgRole::kInput:
          std::cout << "$" << arg.property;
          break;
        case distill::ArgRole::kWired:
          std::cout << "<-$" << arg.property;
          break;
      }
    }
    std::cout << "\n";
  }
  std::cout << "  input schema: " << dump(seq.input_schema) << "\n\n";
}

int run_distill(const DistillArgs& args) {
  auto text = read_input(args.log);
  if (!text.ok()) return report_error(text.status());
  auto calls = distill::parse_log(*text, args.log);
  if (!calls.ok()) return report_error(calls.status());
  distill::DistillOptions options;
  options.min_sessions = args.min_sessions;
  auto sequences = distill::find_sequences(*calls, options);
  if (!sequences.ok()) return report_error(sequences.status());

  // With a policy, sequences its macros replace are encoded; the rest count.
  std::vector<distill::EncodedTools> encoded;
  if (!args.policy.empty()) {
    auto config = load_policy_file(args.policy);
    if (!config.ok()) return report_error(config.status());
    for (const auto& m : (*config)->macro_definitions)
      if (!m->replaces.empty() && m->status != MacroStatus::kRetired) encoded.push_back({m->id, m->replaces});
  }
  std::size_t count = distill::mark_encoded(*sequences, encoded);
  if (args.json) {
    nlohmann::json out = {{"sequences", nlohmann::json::array()},
                          {"count", count},
                          {"threshold", args.threshold},
                          {"min_sessions", args.min_sessions},
                          {"calls", calls->size()}};
    for (const auto& seq : *sequences) out["sequences"].push_back(distill::to_json(seq));
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    for (const auto& seq : *sequences) print_sequence(seq);
    std::cout << count << " unencoded repeated sequence" << (count == 1 ? "" : "s") << " (threshold " << args.threshold
              << ", min sessions " << args.min_sessions << ", " << calls->size() << " calls)\n";
  }
  return distill::exceeds_threshold(count, args.threshold) ? 1 : 0;
}

}  // namespace

Command add_distill_command(CLI::App& app) {
  auto args = std::make_shared<DistillArgs>();
  CLI::App* sub = app.add_subcommand("distill", "Find tool-call sequences that repeat across agent sessions");
  sub->add_option("--log", args->log, "JSONL log of tool calls (\"-\" for standard input)")->required();
  sub->add_option("--policy", args->policy, "policy whose macros' `replaces` lists count as encoded")
      ->check(CLI::ExistingFile);
  sub->add_option("--threshold", args->threshold, "exit 1 when more than this many sequences are unencoded")
      ->check(CLI::Range(std::size_t{0}, kMaxFlagValue));
  sub->add_option("--min-sessions", args->min_sessions, "sessions a sequence must occur in (default 2)")
      ->check(CLI::Range(std::size_t{1}, kMaxFlagValue));
  sub->add_flag("--json", args->json, "print one JSON object");
  return {sub, [args] { return run_distill(*args); }};
}

}  // namespace ladder::cli
