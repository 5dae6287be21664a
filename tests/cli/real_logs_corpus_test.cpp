// Well-formedness of eval/real-logs-dev.jsonl: it loads through the eval command's own
// corpus parser, and every line carries what eval/real-logs.md promises (unique rl- ids,
// a label from the taxonomy, a route and reason that match the label, a source thread
// URL, a split, valid UTF-8).
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/eval_score.h"
#include "corpus_lines.h"
#include "ladder/utf8.h"

namespace ladder::cli {
namespace {

constexpr const char* kCorpus = LADDER_SOURCE_DIR "/eval/real-logs-dev.jsonl";

std::string read_corpus() { return testing::read_text(kCorpus); }

TEST(RealLogsCorpusTest, LoadsThroughTheEvalParser) {
  const std::string text = read_corpus();
  ASSERT_FALSE(text.empty()) << "cannot read " << kCorpus;
  ASSERT_TRUE(valid_utf8(text)) << "invalid UTF-8 at byte " << first_invalid_utf8(text);
  auto cases = parse_corpus(text, "real-logs-dev.jsonl");
  ASSERT_TRUE(cases.ok()) << cases.status().to_string();
  EXPECT_GE(cases->size(), 150u);
}

TEST(RealLogsCorpusTest, EveryLineIsLabeledRoutedSourcedAndSplit) {
  const std::map<std::string, std::string> frontier_reason = {
      {"security", "hard_stop_security"},
      {"access", "hard_stop_access"},
      {"unknown", "confidence_low"},
  };
  const std::set<std::string> local_labels = {"build", "test", "dependency"};
  std::set<std::string> ids;
  std::map<std::string, int> per_split;
  int n = 0;
  for (const auto& j : testing::corpus_lines(kCorpus)) {
    ++n;
    SCOPED_TRACE("line " + std::to_string(n));
    ASSERT_TRUE(j.is_object());
    testing::expect_id_and_split(j, "rl-", ids, per_split);
    const std::string id = j.value("id", "");
    EXPECT_EQ(j.value("task", ""), "classify_issue");
    EXPECT_FALSE(j.value("input", "").empty());
    ASSERT_TRUE(j.contains("expect") && j["expect"].is_object());
    const auto& expect = j["expect"];
    const std::string label = expect.value("label", "");
    const std::string route = expect.value("route", "");
    if (local_labels.count(label) != 0) {
      EXPECT_EQ(route, "local") << id;
      EXPECT_FALSE(expect.contains("reason")) << id;
    } else {
      ASSERT_EQ(frontier_reason.count(label), 1u) << id << ": label '" << label << "'";
      EXPECT_EQ(route, "frontier") << id;
      EXPECT_EQ(expect.value("reason", ""), frontier_reason.at(label)) << id;
    }
    const std::string source = j.value("source", "");
    EXPECT_EQ(source.rfind("https://github.com/", 0), 0u) << id << ": " << source;
  }
  EXPECT_GE(n, 150);
  // The check split is about a third of the corpus (every third line per ecosystem).
  EXPECT_GE(per_split["check"] * 4, n);
  EXPECT_LE(per_split["check"] * 5, n * 2);
}

}  // namespace
}  // namespace ladder::cli
