// llama.cpp's backends loaded once per process from the folder of the llama.cpp build:
// the CPU variant picked for this CPU, one registration whatever the number of threads
// asking, and a clear failure naming the folder when no CPU backend loads. Failures are
// tried in a child process (death test): the load happens once per process.
#include "backends/embedded/llama_runtime.h"

#include <ggml-backend.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "backends/embedded/embedded_backend.h"

namespace ladder {
namespace {

namespace fs = std::filesystem;

int cpu_device_count() {
  int n = 0;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i)
    if (ggml_backend_dev_type(ggml_backend_dev_get(i)) == GGML_BACKEND_DEVICE_TYPE_CPU) ++n;
  return n;
}

bool has(const std::vector<std::string>& features, const std::string& f) {
  return std::find(features.begin(), features.end(), f) != features.end();
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// A folder of this test's own (the same path in a death test's child, which reruns the body).
fs::path test_dir(const std::string& suffix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::temp_directory_path() / ("ladder-llama-runtime-" + std::string(info->name()) + suffix);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// In a death test's child: prints the status and exits 3 for kUnavailable, 4 otherwise.
[[noreturn]] void exit_with(const Status& st) {
  std::fprintf(stderr, "%s\n", st.to_string().c_str());
  std::exit(!st.ok() && st.code() == ErrorCode::kUnavailable ? 3 : 4);
}

void skip_if_static() {
  if (llama_backend_dir().empty()) GTEST_SKIP() << "static llama.cpp build: the CPU backend is linked in";
}

TEST(LlamaRuntime, LoadsOneCpuBackendWhateverTheNumberOfThreads) {
  std::vector<Status> got(8);
  std::vector<std::thread> threads;
  for (auto& st : got) threads.emplace_back([&st] { st = init_llama_runtime(); });
  for (auto& t : threads) t.join();
  for (const auto& st : got) EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_TRUE(init_llama_runtime().ok());
  EXPECT_EQ(cpu_device_count(), 1);
}

// The variant in use has the instruction sets this CPU offers (each rule is the set of
// CPU features ggml's own score asks of the variants that compile it in). A build fixed
// to the AVX2 baseline fails here on an AVX-512 machine.
TEST(LlamaRuntime, CpuBackendUsesTheInstructionsOfThisCpu) {
  ASSERT_TRUE(init_llama_runtime().ok());
  const std::vector<std::string> features = llama_cpu_features();
  std::printf("CPU backend features: %s\n", joined(features).c_str());
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
                    __builtin_cpu_supports("bmi2");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512bw");
  const bool vnni = avx512 && __builtin_cpu_supports("avx512vnni");
  const bool bf16 = vnni && __builtin_cpu_supports("avx512bf16");
  if (avx2) EXPECT_TRUE(has(features, "AVX2")) << joined(features);
  if (avx512) EXPECT_TRUE(has(features, "AVX512")) << joined(features);
  if (vnni) EXPECT_TRUE(has(features, "AVX512_VNNI")) << joined(features);
  if (bf16) EXPECT_TRUE(has(features, "AVX512_BF16")) << joined(features);
  if (!avx2) GTEST_SKIP() << "this CPU has no AVX2: only the baseline variants apply";
}

TEST(LlamaRuntimeDeathTest, EmptyFolderFailsNamingIt) {
  skip_if_static();
  const fs::path dir = test_dir("");
  EXPECT_EXIT(exit_with(init_llama_runtime(dir.string())), ::testing::ExitedWithCode(3),
              "unavailable: no llama.cpp CPU backend loaded from " + dir.string() + ": it holds no libggml-cpu");
  fs::remove_all(dir);
}

TEST(LlamaRuntimeDeathTest, FileThatIsNoLibraryIsNotLoaded) {
  skip_if_static();
  const fs::path dir = test_dir("");
  std::ofstream(dir / "libggml-cpu-bogus.so") << "not a shared library\n";
  std::ofstream(dir / "libggml-cpu.so") << "\x7f"
                                           "ELF but cut short";
  EXPECT_EXIT(exit_with(init_llama_runtime(dir.string())), ::testing::ExitedWithCode(3),
              "no llama.cpp CPU backend loaded from " + dir.string());
  fs::remove_all(dir);
}

TEST(LlamaRuntimeDeathTest, MissingFolderFailsNamingIt) {
  skip_if_static();
  const fs::path dir = test_dir("") / "gone";
  EXPECT_EXIT(exit_with(init_llama_runtime(dir.string())), ::testing::ExitedWithCode(3),
              "llama.cpp backend folder " + dir.string() + " does not exist");
  fs::remove_all(dir.parent_path());
}

// The first outcome is the process's: a later call with the right folder changes nothing.
TEST(LlamaRuntimeDeathTest, FailedLoadIsFinalForTheProcess) {
  skip_if_static();
  const fs::path dir = test_dir("");
  EXPECT_EXIT(
      {
        Status first = init_llama_runtime(dir.string());
        Status again = init_llama_runtime(llama_backend_dir());
        if (first.ok() || again.message() != first.message() || cpu_device_count() != 0) std::exit(5);
        exit_with(again);
      },
      ::testing::ExitedWithCode(3), "no llama.cpp CPU backend loaded from " + dir.string());
  fs::remove_all(dir);
}

// The embedded backend hands the failure on instead of loading a model with no backend.
TEST(LlamaRuntimeDeathTest, EmbeddedBackendReportsTheMissingCpuBackend) {
  skip_if_static();
  const fs::path dir = test_dir("");
  ModelConfig config;
  config.name = "local";
  config.backend = "embedded";
  config.model_path = std::string(LADDER_SOURCE_DIR) + "/models/gemma-3-270m-q4_k_m.gguf";
  config.threads = 2;
  EXPECT_EXIT(
      {
        if (!init_llama_runtime(dir.string()).ok()) {
          auto b = make_embedded_backend(config);
          exit_with(b.ok() ? Status::ok_status() : b.status());
        }
        std::exit(5);
      },
      ::testing::ExitedWithCode(3), "unavailable: no llama.cpp CPU backend loaded from " + dir.string());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ladder
