#include "models/inventory.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>

#include <fstream>

#include "gguf_builder.h"
#include "models/sha256.h"

namespace ladder::models {
namespace {

namespace fs = std::filesystem;

class InventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ladder-inventory-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& bytes) {
    std::ofstream out(dir_ / name, std::ios::binary);
    out << bytes;
  }
  fs::path dir_;
};

TEST_F(InventoryTest, ListsGoodBadAndCatalogFiles) {
  testing::GgufBuilder b;
  b.header(3, 0, 2).kv_string("general.architecture", "qwen2").kv_u32("general.file_type", 15);
  write("tiny.gguf", b.bytes());
  write("garbage.gguf", "this is not a model");
  // A catalog file name with the wrong bytes: a mismatch.
  write("gemma-3-270m-q4_k_m.gguf", b.bytes());
  write("notes.txt", "ignored");

  auto inv = scan_models(dir_.string());
  ASSERT_TRUE(inv.ok()) << inv.status().to_string();
  ASSERT_EQ(inv->installed.size(), 3u);
  const auto& garbage = inv->installed[0];
  const auto& gemma = inv->installed[1];
  const auto& tiny = inv->installed[2];
  EXPECT_EQ(garbage.file, "garbage.gguf");
  EXPECT_FALSE(garbage.header.has_value());
  EXPECT_EQ(garbage.error.code(), ErrorCode::kParseError);
  EXPECT_EQ(garbage.hash, HashCheck::kUncatalogued);

  EXPECT_EQ(gemma.file, "gemma-3-270m-q4_k_m.gguf");
  ASSERT_NE(gemma.entry, nullptr);
  EXPECT_EQ(gemma.hash, HashCheck::kMismatch);

  EXPECT_EQ(tiny.file, "tiny.gguf");
  ASSERT_TRUE(tiny.header.has_value());
  EXPECT_EQ(tiny.header->architecture, "qwen2");
  EXPECT_EQ(tiny.header->quantization, "Q4_K_M");
  EXPECT_EQ(tiny.size, b.bytes().size());
  EXPECT_EQ(tiny.hash, HashCheck::kUncatalogued);
  EXPECT_EQ(tiny.sha256, *sha256_file((dir_ / "tiny.gguf").string()));

  // The other catalog models are reported missing; gemma is not.
  EXPECT_EQ(inv->missing.size(), catalog().size() - 1);
  for (const auto* e : inv->missing) EXPECT_NE(e->file, "gemma-3-270m-q4_k_m.gguf");
}

TEST_F(InventoryTest, MissingAndNonFolder) {
  auto none = scan_models((dir_ / "absent").string());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound);
  write("file", "x");
  auto file = scan_models((dir_ / "file").string());
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), ErrorCode::kInvalidArgument);
}

TEST(Sha256Test, KnownDigest) {
  auto path = fs::temp_directory_path() / ("ladder-sha-" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    out << "abc";
  }
  auto sha = sha256_file(path.string());
  fs::remove(path);
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(*sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_file("/nonexistent/x").status().code(), ErrorCode::kNotFound);
}

TEST(CheckModelFileTest, ReportsMissingAndForeignFiles) {
  EXPECT_EQ(check_model_file("/nonexistent/model.gguf").code(), ErrorCode::kNotFound);
  auto path = fs::temp_directory_path() / ("ladder-check-" + std::to_string(::getpid()) + ".gguf");
  {
    std::ofstream out(path, std::ios::binary);
    out << "<html>404</html>";
  }
  auto s = check_model_file(path.string());
  fs::remove(path);
  EXPECT_EQ(s.code(), ErrorCode::kParseError);
  EXPECT_NE(s.message().find("not a GGUF file"), std::string::npos);
}

}  // namespace
}  // namespace ladder::models
