// Well-formedness of eval/macro-requests.jsonl: it loads through the eval command's own
// corpus parser; every line is a route_macro request with an m-r- id and a split; a local
// line names a macro of the pack with every argument given (defaults filled in), valid
// against the macro's input schema and written in the request; a frontier line has a
// reason from the stable vocabulary.
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/eval_score.h"
#include "corpus_lines.h"
#include "ladder/reason.h"
#include "ladder/utf8.h"
#include "validators/grounding.h"
#include "validators/json_schema.h"

namespace ladder::cli {
namespace {

using testing::corpus_lines;
using testing::expect_id_and_split;
using testing::read_text;

const std::string kCorpus = LADDER_SOURCE_DIR "/eval/macro-requests.jsonl";

TEST(MacroRequestsCorpusTest, LoadsThroughTheEvalParser) {
  const std::string text = read_text(kCorpus);
  ASSERT_FALSE(text.empty()) << "cannot read " << kCorpus;
  ASSERT_TRUE(valid_utf8(text));
  auto cases = parse_corpus(text, "macro-requests.jsonl");
  ASSERT_TRUE(cases.ok()) << cases.status().to_string();
  EXPECT_GE(cases->size(), 100u);
}

TEST(MacroRequestsCorpusTest, EveryLocalLineIsACompleteGroundedCallOfAPackMacro) {
  const auto pack = nlohmann::json::parse(read_text(LADDER_SOURCE_DIR "/eval/macros.json"));
  std::map<std::string, nlohmann::json> schemas;
  for (const auto& m : pack.at("macros")) schemas[m.at("id").get<std::string>()] = m.at("input_schema");
  ASSERT_EQ(schemas.size(), 8u);

  std::set<std::string> ids;
  std::map<std::string, int> per_split, per_route, per_macro;
  int n = 0;
  for (const auto& j : corpus_lines(kCorpus)) {
    ++n;
    SCOPED_TRACE("line " + std::to_string(n));
    ASSERT_TRUE(j.is_object());
    expect_id_and_split(j, "m-r-", ids, per_split);
    const std::string id = j.value("id", "");
    EXPECT_EQ(j.value("task", ""), "route_macro");
    const std::string input = j.value("input", "");
    EXPECT_FALSE(input.empty());
    const auto& expect = j.at("expect");
    const std::string route = expect.value("route", "");
    ++per_route[route];
    if (route == "frontier") {
      EXPECT_TRUE(reason_from_name(expect.value("reason", "")).has_value()) << id;
      continue;
    }
    ASSERT_EQ(route, "local") << id;
    const std::string macro = expect.value("macro", "");
    ASSERT_EQ(schemas.count(macro), 1u) << id << ": macro '" << macro << "'";
    ++per_macro[macro];
    const auto& schema = schemas[macro];
    const auto& args = expect.at("args");
    EXPECT_TRUE(validate_json_schema(schema, args).ok()) << id << ": " << validate_json_schema(schema, args).message();
    EXPECT_EQ(apply_schema_defaults(schema, args), args) << id << ": every default is filled in";
    EXPECT_TRUE(ungrounded_arguments(args, schema, input).empty()) << id << ": arguments not written in the request";
  }
  EXPECT_GE(n, 100);
  EXPECT_GE(per_route["frontier"] * 5, n) << "a fifth or more must escalate";
  EXPECT_GE(per_split["check"] * 4, n);
  for (const auto& [macro, _] : schemas) EXPECT_GE(per_macro[macro], 7) << macro;
}

}  // namespace
}  // namespace ladder::cli
