// ladder models list [--dir DIR] [--json]
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "models/inventory.h"

namespace ladder::cli {
namespace {

struct ModelsOptions {
  std::string dir = "models";
  bool json = false;
};

std::string human_size(std::uint64_t bytes) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  return os.str();
}

nlohmann::json to_json(const models::Inventory& inv) {
  nlohmann::json installed = nlohmann::json::array();
  for (const auto& m : inv.installed) {
    nlohmann::json j = {{"file", m.file},
                        {"path", m.path},
                        {"size_bytes", m.size},
                        {"sha256", m.sha256},
                        {"hash", models::hash_check_name(m.hash)},
                        {"catalog_name", m.entry ? nlohmann::json(m.entry->name) : nlohmann::json(nullptr)}};
    if (m.header) {
      j["gguf_version"] = m.header->version;
      j["architecture"] = m.header->architecture;
      j["name"] = m.header->name;
      j["quantization"] = m.header->quantization;
      j["context_length"] = m.header->context_length ? nlohmann::json(*m.header->context_length) : nullptr;
      j["tensor_count"] = m.header->tensor_count;
    }
    if (!m.error.ok()) j["error"] = {{"code", error_name(m.error.code())}, {"message", m.error.message()}};
    installed.push_back(std::move(j));
  }
  nlohmann::json missing = nlohmann::json::array();
  for (const auto* e : inv.missing) missing.push_back({{"name", e->name}, {"file", e->file}});
  return {{"installed", installed}, {"missing", missing}};
}

void print_text(const models::Inventory& inv, const std::string& dir) {
  if (inv.installed.empty()) std::cout << "no .gguf files in " << dir << "\n";
  for (const auto& m : inv.installed) {
    std::cout << m.file << "\n";
    std::cout << "  size          " << human_size(m.size) << " (" << m.size << " bytes)\n";
    if (m.header) {
      std::cout << "  architecture  " << (m.header->architecture.empty() ? "-" : m.header->architecture) << "\n";
      std::cout << "  name          " << (m.header->name.empty() ? "-" : m.header->name) << "\n";
      std::cout << "  quantization  " << (m.header->quantization.empty() ? "-" : m.header->quantization) << "\n";
      std::cout << "  context       "
                << (m.header->context_length ? std::to_string(*m.header->context_length) : std::string("-")) << "\n";
    }
    if (!m.error.ok()) std::cout << "  error         " << m.error.to_string() << "\n";
    std::cout << "  sha256        " << (m.sha256.empty() ? "-" : m.sha256) << "\n";
    std::cout << "  catalog       " << (m.entry ? m.entry->name : std::string("-")) << " ("
              << models::hash_check_name(m.hash) << ")\n";
  }
  for (const auto* e : inv.missing)
    std::cout << "not installed: " << e->name << " (" << e->file << "; scripts/setup --models " << e->name << ")\n";
}

}  // namespace

Command add_models_command(CLI::App& app) {
  auto opts = std::make_shared<ModelsOptions>();
  CLI::App* models_cmd = app.add_subcommand("models", "Packaged local models");
  models_cmd->require_subcommand(1);
  CLI::App* list = models_cmd->add_subcommand("list", "List installed GGUF models, their header and sha256 check");
  list->add_option("--dir", opts->dir, "models folder (default: ./models)");
  list->add_flag("--json", opts->json, "print JSON");
  auto run = [opts]() -> int {
    auto inv = models::scan_models(opts->dir);
    if (!inv.ok()) return report_error(inv.status());
    if (opts->json) {
      std::cout << to_json(*inv).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      print_text(*inv, opts->dir);
    }
    // A catalog model whose bytes differ, or a .gguf that is not one, is worth an exit code.
    for (const auto& m : inv->installed)
      if (m.hash == models::HashCheck::kMismatch || !m.error.ok()) return 1;
    return 0;
  };
  return {list, run};
}

}  // namespace ladder::cli
