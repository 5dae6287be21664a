#include "models/gguf.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gguf_builder.h"

namespace ladder::models {
namespace {

using testing::GgufBuilder;

const std::string kGemma = std::string(LADDER_SOURCE_DIR) + "/models/gemma-3-270m-q4_k_m.gguf";

// A small, complete header in the shape llama.cpp writes.
GgufBuilder valid_header() {
  GgufBuilder b;
  b.header(3, 2, 6)
      .kv_string("general.architecture", "llama")
      .kv_string("general.name", "Tiny Test")
      .kv_u32("general.file_type", 15)
      .kv_u32("llama.context_length", 2048);
  // An array of strings (like tokenizer.ggml.tokens) and one of floats.
  b.str("tokenizer.ggml.tokens").num<std::uint32_t>(9).num<std::uint32_t>(8).num<std::uint64_t>(2).str("a").str("bc");
  b.str("tokenizer.ggml.scores").num<std::uint32_t>(9).num<std::uint32_t>(6).num<std::uint64_t>(3);
  b.num(0.5f).num(1.5f).num(2.5f);
  return b;
}

TEST(GgufTest, ReadsTheRealGemmaFile) {
  if (!std::filesystem::exists(kGemma)) GTEST_SKIP() << "model not fetched: " << kGemma;
  auto info = read_gguf_header(kGemma);
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->version, 3u);
  EXPECT_EQ(info->architecture, "gemma3");
  EXPECT_EQ(info->quantization, "Q4_K_M");
  ASSERT_TRUE(info->context_length.has_value());
  EXPECT_EQ(*info->context_length, 32768u);
  EXPECT_GT(info->tensor_count, 100u);
  EXPECT_FALSE(info->name.empty());
  // The vocabulary is kept as an array summary, not as 262k strings.
  auto it = info->metadata.find("tokenizer.ggml.tokens");
  ASSERT_NE(it, info->metadata.end());
  ASSERT_TRUE(std::holds_alternative<GgufArray>(it->second));
  EXPECT_GT(std::get<GgufArray>(it->second).count, 100000u);
}

TEST(GgufTest, ParsesAConstructedHeader) {
  auto info = parse_gguf_header(valid_header().bytes());
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->version, 3u);
  EXPECT_EQ(info->tensor_count, 2u);
  EXPECT_EQ(info->kv_count, 6u);
  EXPECT_EQ(info->architecture, "llama");
  EXPECT_EQ(info->name, "Tiny Test");
  EXPECT_EQ(info->file_type, 15u);
  EXPECT_EQ(info->quantization, "Q4_K_M");
  EXPECT_EQ(info->context_length, 2048u);
  const auto& tokens = std::get<GgufArray>(info->metadata.at("tokenizer.ggml.tokens"));
  EXPECT_EQ(tokens.item_type, 8u);
  EXPECT_EQ(tokens.count, 2u);
  EXPECT_EQ(std::get<GgufArray>(info->metadata.at("tokenizer.ggml.scores")).count, 3u);
}

TEST(GgufTest, VersionTwoAndMissingKeys) {
  GgufBuilder b;
  b.header(2, 0, 0);
  auto info = parse_gguf_header(b.bytes());
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->version, 2u);
  EXPECT_TRUE(info->architecture.empty());
  EXPECT_FALSE(info->file_type.has_value());
  EXPECT_FALSE(info->context_length.has_value());
}

TEST(GgufTest, EveryTruncationIsAParseError) {
  const std::string full = valid_header().bytes();
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto info = parse_gguf_header(full.substr(0, n));
    ASSERT_FALSE(info.ok()) << "accepted a header cut at " << n;
    EXPECT_EQ(info.status().code(), ErrorCode::kParseError) << n << ": " << info.status().message();
  }
  auto cut = parse_gguf_header(full.substr(0, 40));
  EXPECT_NE(cut.status().message().find("truncated"), std::string::npos) << cut.status().message();
}

TEST(GgufTest, RejectsForeignFiles) {
  for (const std::string bytes : {std::string(), std::string("GGU"), std::string("PK\x03\x04 not a model at all"),
                                  std::string("\x7f"
                                              "ELF\x02\x01\x01\x00\x00\x00\x00\x00",
                                              12)}) {
    auto info = parse_gguf_header(bytes);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kParseError);
    EXPECT_NE(info.status().message().find("not a GGUF file"), std::string::npos) << info.status().message();
  }
}

TEST(GgufTest, RejectsUnsupportedVersions) {
  for (std::uint32_t v : {0u, 1u, 4u, 0xffffffffu}) {
    GgufBuilder b;
    b.header(v, 0, 0);
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok()) << v;
    EXPECT_EQ(info.status().code(), ErrorCode::kParseError);
    EXPECT_NE(info.status().message().find("unsupported GGUF version"), std::string::npos);
  }
}

TEST(GgufTest, RejectsAbsurdCountsBeforeAllocating) {
  {
    GgufBuilder b;
    b.header(3, 1ull << 40, 0);
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kPayloadTooLarge);
    EXPECT_NE(info.status().message().find("tensors"), std::string::npos);
  }
  {
    GgufBuilder b;
    b.header(3, 0, ~0ull);
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kPayloadTooLarge);
  }
  {  // a key claiming 2^63 bytes
    GgufBuilder b;
    b.header(3, 0, 1).num<std::uint64_t>(1ull << 63);
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kPayloadTooLarge);
  }
  {  // a string value longer than the file: truncated, not allocated
    GgufBuilder b;
    b.header(3, 0, 1).str("general.name").num<std::uint32_t>(8).num<std::uint64_t>(1u << 20).raw("abc");
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kParseError);
  }
  {  // an array of 2^60 items
    GgufBuilder b;
    b.header(3, 0, 1).str("x").num<std::uint32_t>(9).num<std::uint32_t>(4).num<std::uint64_t>(1ull << 60);
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kPayloadTooLarge);
    EXPECT_NE(info.status().message().find("array"), std::string::npos);
  }
  {  // arrays nested past the depth limit
    GgufBuilder b;
    b.header(3, 0, 1).str("x");
    for (int i = 0; i < 4; ++i) b.num<std::uint32_t>(9).num<std::uint32_t>(9).num<std::uint64_t>(1);
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kPayloadTooLarge);
  }
}

TEST(GgufTest, RejectsBadValueTypes) {
  {
    GgufBuilder b;
    b.header(3, 0, 1).str("x").num<std::uint32_t>(13).num<std::uint32_t>(0);
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kParseError);
    EXPECT_NE(info.status().message().find("unknown value type 13"), std::string::npos);
  }
  {  // bool that is neither 0 nor 1
    GgufBuilder b;
    b.header(3, 0, 1).str("flag").num<std::uint32_t>(7).num<std::uint8_t>(7);
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kParseError);
  }
  {  // array of an unknown element type
    GgufBuilder b;
    b.header(3, 0, 1).str("x").num<std::uint32_t>(9).num<std::uint32_t>(99).num<std::uint64_t>(1);
    auto info = parse_gguf_header(b.bytes());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kParseError);
  }
}

TEST(GgufTest, FileErrors) {
  auto missing = read_gguf_header("/nonexistent/dir/model.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);

  auto dir = read_gguf_header(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), ErrorCode::kInvalidArgument);

  auto tmp = std::filesystem::temp_directory_path() / "ladder-gguf-test-truncated.gguf";
  {
    std::ofstream out(tmp, std::ios::binary);
    std::string full = valid_header().bytes();
    out << full.substr(0, full.size() - 3);
  }
  auto cut = read_gguf_header(tmp.string());
  std::filesystem::remove(tmp);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), ErrorCode::kParseError);
  EXPECT_NE(cut.status().message().find(tmp.string()), std::string::npos) << "error names the file";
}

TEST(GgufTest, QuantizationNames) {
  EXPECT_EQ(quantization_name(15), "Q4_K_M");
  EXPECT_EQ(quantization_name(7), "Q8_0");
  EXPECT_EQ(quantization_name(1), "F16");
  EXPECT_EQ(quantization_name(4), "type 4");
}

}  // namespace
}  // namespace ladder::models
