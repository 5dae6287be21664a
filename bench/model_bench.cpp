// Prompt and generation speed (tokens/s) of each packaged local model through llama.cpp:
// a fixed log prompt (bench/data/ci-log.txt, cut to 350 tokens) decoded as one batch,
// then 32 greedy tokens, 2 threads. The speed is a property of the llama.cpp build this
// binary links (cmake -DLADDER_LLAMA_BUILD=...), so builds are compared by running the
// binary of each build in the same command (bench/model_bench.sh). The backends are
// loaded as ladder loads them (llama_runtime.h); each result's label lists the
// instruction sets of the CPU backend that ran it.
//
//   build/bench/model_bench [--benchmark_filter=qwen] (models from $LADDER_MODELS_DIR or
//   <source>/models; a model that is not installed is skipped with a message)
#include <benchmark/benchmark.h>
#include <llama.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "backends/embedded/llama_runtime.h"
#include "models/catalog.h"

namespace {

constexpr int kPromptTokens = 350;
constexpr int kGenTokens = 32;
constexpr int kThreads = 2;

std::string models_dir() {
  const char* env = std::getenv("LADDER_MODELS_DIR");
  return env ? env : std::string(LADDER_SOURCE_DIR) + "/models";
}

std::string prompt_text() {
  std::ifstream in(std::string(LADDER_SOURCE_DIR) + "/bench/data/ci-log.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void silent_log(ggml_log_level, const char*, void*) {}

void BM_Model(benchmark::State& state, std::string file) {
  const std::string path = models_dir() + "/" + file;
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("not installed: " + path).c_str());
    return;
  }
  llama_model_params mp = llama_model_default_params();
  std::unique_ptr<llama_model, decltype(&llama_model_free)> model(llama_model_load_from_file(path.c_str(), mp),
                                                                  &llama_model_free);
  if (!model) {
    state.SkipWithError("llama.cpp could not load the model");
    return;
  }
  const llama_vocab* vocab = llama_model_get_vocab(model.get());
  const std::string text = prompt_text();
  std::vector<llama_token> tokens(text.size() + 16);
  int n = llama_tokenize(vocab, text.c_str(), static_cast<int>(text.size()), tokens.data(),
                         static_cast<int>(tokens.size()), true, false);
  if (n < kPromptTokens) {
    state.SkipWithError("prompt shorter than 350 tokens for this tokenizer");
    return;
  }
  tokens.resize(kPromptTokens);

  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 1024;
  cp.n_batch = 512;
  cp.n_threads = kThreads;
  cp.n_threads_batch = kThreads;
  std::unique_ptr<llama_context, decltype(&llama_free)> ctx(llama_init_from_model(model.get(), cp), &llama_free);
  if (!ctx) {
    state.SkipWithError("llama.cpp could not create a context");
    return;
  }
  double prompt_s = 0, gen_s = 0;
  std::int64_t prompt_tok = 0, gen_tok = 0;
  for (auto _ : state) {
    llama_memory_clear(llama_get_memory(ctx.get()), true);
    auto t0 = std::chrono::steady_clock::now();
    if (llama_decode(ctx.get(), llama_batch_get_one(tokens.data(), kPromptTokens)) != 0) {
      state.SkipWithError("prompt decode failed");
      return;
    }
    auto t1 = std::chrono::steady_clock::now();
    const int n_vocab = llama_vocab_n_tokens(vocab);
    for (int i = 0; i < kGenTokens; ++i) {
      const float* logits = llama_get_logits_ith(ctx.get(), -1);
      llama_token best = 0;
      for (llama_token t = 1; t < n_vocab; ++t)
        if (logits[t] > logits[best]) best = t;
      if (llama_decode(ctx.get(), llama_batch_get_one(&best, 1)) != 0) {
        state.SkipWithError("generation decode failed");
        return;
      }
    }
    auto t2 = std::chrono::steady_clock::now();
    prompt_s += std::chrono::duration<double>(t1 - t0).count();
    gen_s += std::chrono::duration<double>(t2 - t1).count();
    prompt_tok += kPromptTokens;
    gen_tok += kGenTokens;
  }
  state.counters["prompt_tok_s"] = static_cast<double>(prompt_tok) / prompt_s;
  state.counters["gen_tok_s"] = static_cast<double>(gen_tok) / gen_s;
  state.counters["threads"] = kThreads;
  std::string label;
  for (const auto& f : ladder::llama_cpu_features()) label += (label.empty() ? "" : " ") + f;
  state.SetLabel(label);
}

}  // namespace

int main(int argc, char** argv) {
  llama_log_set(silent_log, nullptr);
  if (ladder::Status st = ladder::init_llama_runtime(); !st.ok()) {
    std::fprintf(stderr, "model_bench: %s\n", st.to_string().c_str());
    return 1;
  }
  for (const auto& e : ladder::models::catalog())
    benchmark::RegisterBenchmark(("model/" + e.name).c_str(), BM_Model, e.file)
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  llama_backend_free();
  return 0;
}
