#include "models/catalog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/loader.h"

namespace ladder::models {
namespace {

const char* kRow =
    "qwen-0.5b\tq.gguf\t1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32\tpkg-part\t0.9.0\t6\treq.txt\t"
    "extra\n";

TEST(CatalogTest, CompiledInCatalogMatchesTheSetupFile) {
  std::ifstream in(std::string(LADDER_SOURCE_DIR) + "/scripts/models.tsv");
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = parse_catalog(ss.str());
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  ASSERT_EQ(catalog().size(), parsed->size());
  ASSERT_GE(catalog().size(), 3u);
  int defaults = 0;
  for (const auto& e : catalog()) {
    defaults += e.is_default;
    EXPECT_TRUE(std::filesystem::exists(std::string(LADDER_SOURCE_DIR) + "/scripts/" + e.requirements))
        << e.requirements;
  }
  // The defaults are what the example policy runs (its local ladder), fetched by a plain
  // scripts/setup; the other rows come on request.
  auto policy = load_policy_file(std::string(LADDER_SOURCE_DIR) + "/examples/maintainer/policy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().to_string();
  std::set<std::string> wanted, fetched;
  for (const auto& [name, model] : (*policy)->models)
    if (!model.model_path.empty()) wanted.insert(std::filesystem::path(model.model_path).filename().string());
  for (const auto& e : catalog())
    if (e.is_default) fetched.insert(e.file);
  EXPECT_EQ(fetched, wanted);
  EXPECT_EQ(defaults, 2);
  const auto* gemma = find_by_file("gemma-3-270m-q4_k_m.gguf");
  ASSERT_NE(gemma, nullptr);
  EXPECT_EQ(gemma->sha256, "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818");
  EXPECT_TRUE(gemma->is_default);
  const auto* q15 = find_by_file("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf");
  ASSERT_NE(q15, nullptr);
  EXPECT_EQ(q15->parts, 22);
  EXPECT_EQ(find_by_file("nope.gguf"), nullptr);
}

TEST(CatalogTest, ParsesCommentsAndRows) {
  auto parsed = parse_catalog(std::string("# comment\n\n") + kRow);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].name, "qwen-0.5b");
  EXPECT_EQ((*parsed)[0].parts, 6);
  EXPECT_FALSE((*parsed)[0].is_default);
}

TEST(CatalogTest, MalformedRowsNameTheLine) {
  const std::string sha = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32";
  for (const std::string bad : {
           std::string("a\tb\tc\n"),                         // too few columns
           "a\tf\t" + sha + "\tp\t1\t6\tr\textra\textra\n",  // too many
           std::string("a\tf\tXYZ\tp\t1\t6\tr\textra\n"),    // bad sha
           "a\tf\t" + sha + "\tp\t1\tsix\tr\textra\n",       // parts not a number
           "a\tf\t" + sha + "\tp\t1\t0\tr\textra\n",         // zero parts
           "a\tf\t" + sha + "\tp\t1\t6\tr\tmaybe\n",         // bad kind
           "\tf\t" + sha + "\tp\t1\t6\tr\textra\n",          // empty name
           std::string(kRow) + kRow,                         // duplicate
       }) {
    auto parsed = parse_catalog("# header\n" + bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kParseError);
    EXPECT_NE(parsed.status().message().find("line "), std::string::npos) << parsed.status().message();
  }
}

}  // namespace
}  // namespace ladder::models
