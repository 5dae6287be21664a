// `ladder models list` and the model-file check of `ladder policy check`, run as the real
// binary on temporary folders.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../integration/process.h"
#include "gguf_builder.h"

namespace ladder::models {
namespace {

namespace fs = std::filesystem;
using ladder::testing::read_file;
using ladder::testing::run_process;
using ladder::testing::write_file;

const std::string kLadder = std::string(LADDER_BINARY_DIR) + "/ladder";

class ModelsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ladder-models-cli-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string tiny_gguf() const {
    testing::GgufBuilder b;
    b.header(3, 0, 4)
        .kv_string("general.architecture", "qwen2")
        .kv_string("general.name", "Tiny")
        .kv_u32("general.file_type", 15)
        .kv_u32("qwen2.context_length", 32768);
    return b.bytes();
  }
  fs::path dir_;
};

TEST_F(ModelsCliTest, ListsAValidFileAsText) {
  write_file((dir_ / "tiny.gguf").string(), tiny_gguf());
  auto r = run_process({kLadder, "models", "list", "--dir", dir_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tiny.gguf"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("qwen2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Q4_K_M"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("32768"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("uncatalogued"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not installed: gemma-3-270m"), std::string::npos) << r.out;
}

TEST_F(ModelsCliTest, JsonReportsBadFilesAndMismatchesWithExitOne) {
  write_file((dir_ / "tiny.gguf").string(), tiny_gguf());
  write_file((dir_ / "broken.gguf").string(), tiny_gguf().substr(0, 30));
  write_file((dir_ / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").string(), tiny_gguf());
  auto r = run_process({kLadder, "models", "list", "--dir", dir_.string(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["installed"].size(), 3u) << r.out;
  EXPECT_EQ(j["installed"][0]["file"], "broken.gguf");
  EXPECT_EQ(j["installed"][0]["error"]["code"], "parse_error");
  EXPECT_FALSE(j["installed"][0].contains("architecture"));
  EXPECT_EQ(j["installed"][1]["catalog_name"], "qwen-0.5b");
  EXPECT_EQ(j["installed"][1]["hash"], "mismatch");
  EXPECT_EQ(j["installed"][2]["architecture"], "qwen2");
  EXPECT_EQ(j["installed"][2]["quantization"], "Q4_K_M");
  EXPECT_EQ(j["installed"][2]["context_length"], 32768);
  EXPECT_EQ(j["installed"][2]["size_bytes"], tiny_gguf().size());
  EXPECT_EQ(j["installed"][2]["sha256"].get<std::string>().size(), 64u);
  bool gemma_missing = false;
  for (const auto& m : j["missing"]) gemma_missing |= m["name"] == "gemma-3-270m";
  EXPECT_TRUE(gemma_missing) << r.out;
}

TEST_F(ModelsCliTest, RealGemmaMatchesTheCatalog) {
  const std::string gemma = std::string(LADDER_SOURCE_DIR) + "/models/gemma-3-270m-q4_k_m.gguf";
  if (!fs::exists(gemma)) GTEST_SKIP() << "model not fetched";
  fs::create_symlink(gemma, dir_ / "gemma-3-270m-q4_k_m.gguf");
  auto r = run_process({kLadder, "models", "list", "--dir", dir_.string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["installed"].size(), 1u);
  EXPECT_EQ(j["installed"][0]["hash"], "match");
  EXPECT_EQ(j["installed"][0]["architecture"], "gemma3");
  EXPECT_EQ(j["installed"][0]["quantization"], "Q4_K_M");
}

TEST_F(ModelsCliTest, InvalidUtf8NameStillGivesValidJson) {
  testing::GgufBuilder b;
  b.header(3, 0, 2).kv_string("general.architecture", "llama").kv_string("general.name", "bad\xff\xfename");
  write_file((dir_ / "odd.gguf").string(), b.bytes());
  auto r = run_process({kLadder, "models", "list", "--dir", dir_.string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["installed"].size(), 1u);
  EXPECT_EQ(j["installed"][0]["architecture"], "llama");
  EXPECT_NE(j["installed"][0]["name"].get<std::string>().find("name"), std::string::npos);
}

TEST_F(ModelsCliTest, MissingFolderIsNotFound) {
  auto r = run_process({kLadder, "models", "list", "--dir", (dir_ / "absent").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
}

TEST_F(ModelsCliTest, PolicyCheckReportsMissingAndNonGgufModelFiles) {
  const std::string policy = (dir_ / "policy.yaml").string();
  write_file(policy, ladder::testing::example_policy_text((dir_ / "absent.gguf").string()));
  auto r = run_process({kLadder, "policy", "check", policy});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("absent.gguf"), std::string::npos) << r.err;

  write_file((dir_ / "page.gguf").string(), "<html>rate limited</html>");
  write_file(policy, ladder::testing::example_policy_text((dir_ / "page.gguf").string()));
  r = run_process({kLadder, "policy", "check", policy});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a GGUF file"), std::string::npos) << r.err;

  write_file((dir_ / "tiny.gguf").string(), tiny_gguf());
  write_file(policy, ladder::testing::example_policy_text((dir_ / "tiny.gguf").string()));
  r = run_process({kLadder, "policy", "check", policy});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("policy ok"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ladder::models
