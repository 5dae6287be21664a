#include "models/inventory.h"

#include <algorithm>
#include <filesystem>

#include "models/sha256.h"

namespace ladder::models {

namespace fs = std::filesystem;

std::string_view hash_check_name(HashCheck check) {
  switch (check) {
    case HashCheck::kMatch:
      return "match";
    case HashCheck::kMismatch:
      return "mismatch";
    case HashCheck::kUncatalogued:
      return "uncatalogued";
    case HashCheck::kNotChecked:
      return "not_checked";
  }
  return "not_checked";
}

Result<Inventory> scan_models(const std::string& dir) {
  std::error_code ec;
  auto st = fs::status(dir, ec);
  if (ec || !fs::exists(st)) return make_error(ErrorCode::kNotFound, "models folder not found: " + dir);
  if (!fs::is_directory(st)) return make_error(ErrorCode::kInvalidArgument, "not a folder: " + dir);
  Inventory inv;
  fs::directory_iterator it(dir, ec);
  if (ec) return make_error(ErrorCode::kUnavailable, "cannot list " + dir + ": " + ec.message());
  for (const auto& de : it) {
    if (de.path().extension() != ".gguf") continue;
    InstalledModel m;
    m.file = de.path().filename().string();
    m.path = de.path().string();
    m.entry = find_by_file(m.file);
    m.size = de.is_regular_file(ec) ? de.file_size(ec) : 0;
    auto header = read_gguf_header(m.path);
    if (header.ok()) {
      m.header = std::move(header).value();
    } else {
      m.error = header.status();
    }
    if (auto sha = sha256_file(m.path); sha.ok()) {
      m.sha256 = *sha;
      m.hash = !m.entry ? HashCheck::kUncatalogued
                        : (m.sha256 == m.entry->sha256 ? HashCheck::kMatch : HashCheck::kMismatch);
    } else if (m.error.ok()) {
      m.error = sha.status();
    }
    inv.installed.push_back(std::move(m));
  }
  std::sort(inv.installed.begin(), inv.installed.end(),
            [](const InstalledModel& a, const InstalledModel& b) { return a.file < b.file; });
  for (const auto& e : catalog()) {
    bool present = std::any_of(inv.installed.begin(), inv.installed.end(),
                               [&](const InstalledModel& m) { return m.file == e.file; });
    if (!present) inv.missing.push_back(&e);
  }
  return inv;
}

Status check_model_file(const std::string& path) {
  auto header = read_gguf_header(path);
  return header.ok() ? Status{} : header.status();
}

}  // namespace ladder::models
