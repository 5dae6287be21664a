// Loads an old JSONL audit log into a decision store (`ladder audit import`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/record_store.h"

namespace ladder::store {

struct ImportProblem {
  int line = 0;  // 1-based
  std::string what;
};

struct ImportReport {
  std::int64_t imported = 0;
  std::vector<ImportProblem> problems;  // non-empty: nothing was imported
};

// Every non-empty line must be a JSON object (valid UTF-8); when any line is not, the
// report names each bad line and nothing is written. Good logs go in batches of
// batch_size records, one transaction each.
Result<ImportReport> import_jsonl(RecordStore& store, std::string_view text, int batch_size = 500);

}  // namespace ladder::store
