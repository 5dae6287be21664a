#include "store/import.h"

#include "ladder/utf8.h"

namespace ladder::store {

Result<ImportReport> import_jsonl(RecordStore& store, std::string_view text, int batch_size) {
  ImportReport report;
  std::vector<nlohmann::json> records;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (!valid_utf8(line)) {
      report.problems.push_back({line_no, "invalid UTF-8 at byte " + std::to_string(first_invalid_utf8(line))});
      continue;
    }
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded()) {
      report.problems.push_back({line_no, "not valid JSON"});
    } else if (!record.is_object()) {
      report.problems.push_back({line_no, "expected a JSON object (one audit record)"});
    } else if (!record.contains("ts") || !record["ts"].is_string() || !record.contains("task") ||
               !record["task"].is_string()) {
      report.problems.push_back({line_no, "not an audit record (needs string fields ts and task)"});
    } else {
      records.push_back(std::move(record));
    }
  }
  if (!report.problems.empty()) return report;
  for (std::size_t i = 0; i < records.size(); i += static_cast<std::size_t>(batch_size)) {
    const auto last = std::min(records.size(), i + static_cast<std::size_t>(batch_size));
    std::vector<nlohmann::json> batch(records.begin() + static_cast<std::ptrdiff_t>(i),
                                      records.begin() + static_cast<std::ptrdiff_t>(last));
    if (Status s = store.write_batch(batch); !s.ok()) return s;
    report.imported += static_cast<std::int64_t>(batch.size());
  }
  return report;
}

}  // namespace ladder::store
