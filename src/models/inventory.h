// What is installed in a models folder: each *.gguf file with its header summary, its
// sha256 and whether that matches the catalog; catalog models that are absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ladder/status.h"
#include "models/catalog.h"
#include "models/gguf.h"

namespace ladder::models {

enum class HashCheck {
  kMatch,         // in the catalog, sha256 equal
  kMismatch,      // in the catalog, sha256 differs
  kUncatalogued,  // not a catalog file: nothing to compare with
  kNotChecked,    // the file could not be read
};
std::string_view hash_check_name(HashCheck check);  // "match", "mismatch", ...

struct InstalledModel {
  std::string file;  // name inside the folder
  std::string path;
  std::uint64_t size = 0;
  std::optional<GgufInfo> header;  // nullopt when `error` is set
  Status error;                    // why the header could not be read
  std::string sha256;              // empty when unreadable
  HashCheck hash = HashCheck::kNotChecked;
  const CatalogEntry* entry = nullptr;
};

struct Inventory {
  std::vector<InstalledModel> installed;     // sorted by file name
  std::vector<const CatalogEntry*> missing;  // catalog models not in the folder
};

// Scans `dir` (not recursively). kNotFound when it does not exist, kInvalidArgument when
// it is not a folder; a bad model file is reported in its entry, never as a failure.
Result<Inventory> scan_models(const std::string& dir);

// The header check `ladder policy check` runs on an embedded model's file: ok when the
// file exists, is readable and starts with a valid GGUF header.
Status check_model_file(const std::string& path);

}  // namespace ladder::models
