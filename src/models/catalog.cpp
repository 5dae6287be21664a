#include "models/catalog.h"

#include <charconv>

namespace ladder::models {

extern const char* const kCatalogTsv;  // generated from scripts/models.tsv

namespace {

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> cols;
  std::size_t start = 0;
  while (true) {
    auto tab = line.find('\t', start);
    cols.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return cols;
}

}  // namespace

Result<std::vector<CatalogEntry>> parse_catalog(std::string_view tsv) {
  std::vector<CatalogEntry> out;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < tsv.size()) {
    auto nl = tsv.find('\n', pos);
    std::string_view line = tsv.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? tsv.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](const std::string& why) {
      return make_error(ErrorCode::kParseError, "model catalog line " + std::to_string(line_no) + ": " + why);
    };
    auto cols = split_tabs(line);
    if (cols.size() != 8) return bad("expected 8 tab-separated columns, got " + std::to_string(cols.size()));
    CatalogEntry e;
    e.name = cols[0];
    e.file = cols[1];
    e.sha256 = cols[2];
    e.package_prefix = cols[3];
    e.version = cols[4];
    e.requirements = cols[6];
    if (e.name.empty() || e.file.empty() || e.package_prefix.empty() || e.version.empty() || e.requirements.empty())
      return bad("empty column");
    if (!is_hex64(e.sha256)) return bad("sha256 must be 64 lower-case hex digits");
    auto [ptr, ec] = std::from_chars(cols[5].data(), cols[5].data() + cols[5].size(), e.parts);
    if (ec != std::errc() || ptr != cols[5].data() + cols[5].size() || e.parts < 1 || e.parts > 999)
      return bad("parts must be a number from 1 to 999");
    if (cols[7] != "default" && cols[7] != "extra") return bad("last column must be 'default' or 'extra'");
    e.is_default = cols[7] == "default";
    for (const auto& prev : out)
      if (prev.name == e.name || prev.file == e.file) return bad("duplicate name or file '" + e.name + "'");
    out.push_back(std::move(e));
  }
  return out;
}

const std::vector<CatalogEntry>& catalog() {
  // The table is checked by a test and at build time by scripts/setup; a malformed
  // compiled-in table is a build defect, so it yields an empty catalog rather than input
  // errors at run time.
  static const std::vector<CatalogEntry> kCatalog = [] {
    auto parsed = parse_catalog(kCatalogTsv);
    return parsed.ok() ? std::move(parsed).value() : std::vector<CatalogEntry>{};
  }();
  return kCatalog;
}

const CatalogEntry* find_by_file(std::string_view file) {
  for (const auto& e : catalog())
    if (e.file == file) return &e;
  return nullptr;
}

}  // namespace ladder::models
