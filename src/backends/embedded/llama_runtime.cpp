// See llama_runtime.h.
#include "backends/embedded/llama_runtime.h"

#include <ggml-backend.h>
#include <llama.h>

#include <filesystem>
#include <string_view>
#include <system_error>

namespace ladder {
namespace {

ggml_backend_dev_t cpu_device() { return ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU); }

Status load_backends(const std::string& dir) {
  // A static build registered its CPU backend when ggml's registry came up; a shared one
  // registers nothing until a backend library is loaded.
  if (cpu_device() == nullptr) {
    if (dir.empty())
      return make_error(ErrorCode::kUnavailable,
                        "llama.cpp is built with run-time CPU backends but no folder to load them from was given");
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      return make_error(ErrorCode::kUnavailable,
                        "llama.cpp backend folder " + dir + " does not exist; rerun scripts/setup to build llama.cpp");
    ggml_backend_load_all_from_path(dir.c_str());
    if (cpu_device() == nullptr)
      return make_error(
          ErrorCode::kUnavailable,
          "no llama.cpp CPU backend loaded from " + dir +
              ": it holds no libggml-cpu-<variant>.so that loads and runs on this CPU; rerun scripts/setup");
  }
  llama_backend_init();  // loads nothing more: backends are registered
  return Status::ok_status();
}

}  // namespace

std::string llama_backend_dir() { return LADDER_GGML_BACKEND_DIR; }

Status init_llama_runtime(const std::string& dir) {
  static const Status status = load_backends(dir);  // initialised once, callers wait for it
  return status;
}

std::vector<std::string> llama_cpu_features() {
  std::vector<std::string> out;
  ggml_backend_dev_t dev = cpu_device();
  if (dev == nullptr) return out;
  ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
  auto get_features = reinterpret_cast<ggml_backend_get_features_t>(
      ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features"));
  if (get_features == nullptr) return out;
  for (const ggml_backend_feature* f = get_features(reg); f->name != nullptr; ++f)
    if (std::string_view(f->value) == "1") out.emplace_back(f->name);
  return out;
}

}  // namespace ladder
