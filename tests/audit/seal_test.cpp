// Sealed inputs (src/audit/seal.h): AES-256-GCM round trip, wrong key named, tampering caught.
#include "audit/seal.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace ladder::audit {
namespace {

const std::string kKeyA(64, 'a');
const std::string kKeyB = std::string(62, 'a') + "0b";

TEST(SealTest, RoundTripWithFreshNonces) {
  auto key = seal_key_from_hex(kKeyA);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->id.size(), 16u);
  const std::string input = "ERROR build failed: \xc3\xa9 token=not-in-the-clear";
  const auto a = seal(*key, input), b = seal(*key, input);
  EXPECT_NE(a["nonce"], b["nonce"]);
  EXPECT_EQ(a.dump().find("not-in-the-clear"), std::string::npos);
  auto plain = unseal(*key, a);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(*plain, input);
  EXPECT_EQ(*unseal(*key, seal(*key, "")), "");
}

TEST(SealTest, WrongKeyIsNamed) {
  auto a = seal_key_from_hex(kKeyA), b = seal_key_from_hex(kKeyB);
  ASSERT_TRUE(a.ok() && b.ok());
  auto plain = unseal(*b, seal(*a, "input"));
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(plain.status().message().find(a->id), std::string::npos);
  EXPECT_NE(plain.status().message().find(b->id), std::string::npos);
}

TEST(SealTest, TamperedCiphertextTagOrNonceFails) {
  auto key = seal_key_from_hex(kKeyA);
  const auto sealed = seal(*key, "some raw input");
  for (const char* field : {"ciphertext", "tag", "nonce"}) {
    auto bad = sealed;
    std::string v = bad[field];
    v[0] = v[0] == '0' ? '1' : '0';
    bad[field] = v;
    auto plain = unseal(*key, bad);
    ASSERT_FALSE(plain.ok()) << field;
    EXPECT_EQ(plain.status().code(), ErrorCode::kPermissionDenied) << field;
  }
  auto truncated = sealed;
  truncated["tag"] = "00";
  EXPECT_EQ(unseal(*key, truncated).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(unseal(*key, nlohmann::json::object()).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(unseal(*key, nullptr).status().code(), ErrorCode::kInvalidArgument);
}

TEST(SealTest, KeyFromEnvironment) {
  ::unsetenv("LADDER_SEAL_TEST_KEY");
  EXPECT_EQ(seal_key_from_env("LADDER_SEAL_TEST_KEY").status().code(), ErrorCode::kNotConfigured);
  ::setenv("LADDER_SEAL_TEST_KEY", "short", 1);
  EXPECT_EQ(seal_key_from_env("LADDER_SEAL_TEST_KEY").status().code(), ErrorCode::kInvalidArgument);
  ::setenv("LADDER_SEAL_TEST_KEY", std::string(64, 'z').c_str(), 1);
  EXPECT_EQ(seal_key_from_env("LADDER_SEAL_TEST_KEY").status().code(), ErrorCode::kInvalidArgument);
  ::setenv("LADDER_SEAL_TEST_KEY", kKeyA.c_str(), 1);
  auto key = seal_key_from_env("LADDER_SEAL_TEST_KEY");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->id, seal_key_from_hex(kKeyA)->id);
  ::unsetenv("LADDER_SEAL_TEST_KEY");
}

}  // namespace
}  // namespace ladder::audit
