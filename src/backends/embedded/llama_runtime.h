// llama.cpp's process-wide start: its compute backends loaded once, before the first model.
//
// scripts/setup builds llama.cpp with the CPU backend as run-time variants: one
// libggml-cpu-<variant>.so per x86 instruction-set level (SSE4.2, AVX2, AVX-512, with
// VNNI, with BF16, ...) in the llama.cpp build's bin/ folder. ggml scores each against
// the CPU it runs on and registers the best, so one portable build uses AVX-512 where the
// CPU has it. A static llama.cpp build has its CPU backend linked in; nothing is loaded.
//
// Thread safety: init_llama_runtime() may be called from any thread; the load happens
// once per process and every caller gets its outcome.
#pragma once

#include <string>
#include <vector>

#include "ladder/status.h"

namespace ladder {

// The folder the backend libraries are loaded from: the bin/ folder of the llama.cpp
// build this binary was linked against (empty for a static build).
std::string llama_backend_dir();

// Loads llama.cpp's backends from `dir` and initialises llama.cpp, once per process:
// concurrent and later calls wait for the first and return its outcome, whatever `dir`
// they pass. kUnavailable, naming the folder, when no CPU backend is registered after it.
Status init_llama_runtime(const std::string& dir = llama_backend_dir());

// Instruction sets the CPU backend in use was compiled for ("AVX2", "AVX512",
// "AVX512_VNNI", ...), in ggml's names; empty while no CPU backend is registered.
std::vector<std::string> llama_cpu_features();

}  // namespace ladder
