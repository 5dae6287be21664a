// Reading a project corpus (JSONL) in its well-formedness tests.
#pragma once

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ladder::cli::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every line of the file, parsed; a malformed line is a discarded value (not an object).
inline std::vector<nlohmann::json> corpus_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(read_text(path));
  std::string line;
  while (std::getline(lines, line)) out.push_back(nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false));
  return out;
}

// The id starts with `prefix` and is new, and the split is dev or check (counted).
inline void expect_id_and_split(const nlohmann::json& j, const std::string& prefix, std::set<std::string>& ids,
                                std::map<std::string, int>& per_split) {
  const std::string id = j.value("id", "");
  EXPECT_EQ(id.rfind(prefix, 0), 0u) << id;
  EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;
  const std::string split = j.value("split", "");
  EXPECT_TRUE(split == "dev" || split == "check") << id << ": split '" << split << "'";
  ++per_split[split];
}

}  // namespace ladder::cli::testing
