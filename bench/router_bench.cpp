// Micro-benchmarks of the router's own work around a model call: hard-stop scanning,
// grammar building and prompt rendering. Read as ratios against the baseline in the same
// run (BM_CopyInput: touching every byte of the input once), never as absolute times.
//
//   build/bench/ladder_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <string>

#include "config/loader.h"
#include "policy/hard_stops.h"
#include "router/grammar.h"
#include "router/prompt.h"

namespace ladder {
namespace {

const ConfigPtr& example_config() {
  static ConfigPtr config = [] {
    auto c = load_policy_file(std::string(LADDER_SOURCE_DIR) + "/examples/maintainer/policy.yaml");
    if (!c.ok()) std::abort();
    return *c;
  }();
  return config;
}

std::string log_of(std::size_t bytes) {
  const std::string line = "[ 42%] Building CXX object src/core/engine.cpp.o: warning: unused variable 'x'\n";
  std::string out;
  while (out.size() < bytes) out += line;
  out.resize(bytes);
  return out;
}

void BM_CopyInput(benchmark::State& state) {
  const std::string input = log_of(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::string copy = input;
    benchmark::DoNotOptimize(copy.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CopyInput)->Arg(1024)->Arg(8192);

void BM_HardStopScan(benchmark::State& state) {
  auto scanner = HardStopScanner::create(example_config()->hard_stops);
  const std::string input = log_of(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize((*scanner)->scan(input, "input"));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HardStopScan)->Arg(1024)->Arg(8192);

void BM_MacroArgsGrammar(benchmark::State& state) {
  const auto* macro = example_config()->find_macro("repo_triage_v1");
  const std::string input = "Check the last 3 PRs in acme/checkout and tag them using conventional commits";
  for (auto _ : state) benchmark::DoNotOptimize(macro_args_grammar(macro->input_schema, input));
}
BENCHMARK(BM_MacroArgsGrammar);

void BM_RenderClassifyPrompt(benchmark::State& state) {
  const TaskConfig* task = example_config()->find_task("classify_issue");
  const std::string input = log_of(1024);
  for (auto _ : state) benchmark::DoNotOptimize(render_task_prompt(*task, input));
}
BENCHMARK(BM_RenderClassifyPrompt);

}  // namespace
}  // namespace ladder

BENCHMARK_MAIN();
