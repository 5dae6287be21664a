#include "audit/redact.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "ladder/utf8.h"
#include "redact_inputs.h"

namespace ladder {
namespace {

using testing::secret_cases;

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// data/redact-golden.txt holds (hex, one a line) what redaction returned for each varied
// input when every pattern ran as its own pass over the text; the pre-filtered
// redaction must return exactly the same.
TEST(RedactTest, SameResultsAsOnePassPerPattern) {
  std::ifstream golden(std::string(LADDER_SOURCE_DIR) + "/tests/audit/data/redact-golden.txt");
  ASSERT_TRUE(golden.good());
  const auto inputs = testing::varied_redaction_inputs();
  std::size_t index = 0;
  std::size_t redacted = 0;
  for (std::string line; std::getline(golden, line); ++index) {
    ASSERT_LT(index, inputs.size());
    const std::string expected = from_hex(line);
    EXPECT_EQ(redact_secrets(inputs[index]), expected) << "input " << index;
    if (expected.find("[REDACTED:") != std::string::npos) ++redacted;
  }
  EXPECT_EQ(index, inputs.size());
  EXPECT_GT(redacted, inputs.size() / 2);  // the set is mostly texts with secrets
}

TEST(RedactTest, EveryKindOfSecretIsMasked) {
  for (const auto& c : secret_cases()) {
    const std::string out = redact_secrets(c.text);
    EXPECT_EQ(out.find(c.secret), std::string::npos) << c.kind << ": " << out;
    EXPECT_NE(out.find("[REDACTED:" + c.kind + "]"), std::string::npos) << c.kind << ": " << out;
  }
}

TEST(RedactTest, MatchKeepsTwoCodePointsAndTheLength) {
  EXPECT_EQ(redacted_match("deploying"), "de\u2026 (9 chars)");
  EXPECT_EQ(redacted_match("\xC3\xA9t\xC3\xA9"), "\xC3\xA9t\u2026 (3 chars)");
  EXPECT_EQ(redacted_match("ab"), "\u2026 (2 chars)");
  EXPECT_EQ(redacted_match("\xff\xfe"
                           "abc"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\u2026 (5 chars)");
}

TEST(RedactTest, OrdinaryTextIsUntouched) {
  const std::string text =
      "npm ERR! code E401 while fetching lodash; see https://github.com/acme/infra/issues/63 and run make test";
  EXPECT_EQ(redact_secrets(text), text);
  EXPECT_EQ(redact_secrets("sk-learn is a library"), "sk-learn is a library");
  EXPECT_EQ(redact_secrets("max_tokens: 256, prompt_tokens=300"), "max_tokens: 256, prompt_tokens=300");
}

TEST(RedactTest, KeepsSurroundingText) {
  EXPECT_EQ(redact_secrets("before AKIAIOSFODNN7EXAMPLE after"), "before [REDACTED:aws_access_key] after");
  EXPECT_EQ(redact_secrets("password=abc123 next"), "password=[REDACTED:credential] next");
}

TEST(RedactTest, PreviewCollapsesWhitespaceAndCuts) {
  EXPECT_EQ(redacted_preview("  a \n\n b\t c  ", 100), "a b c");
  EXPECT_EQ(redacted_preview("abcdef", 3), "abc");
  EXPECT_EQ(redacted_preview("ab cd", 3), "ab");  // no trailing space at the cut
  EXPECT_EQ(redacted_preview("anything", 0), "");
}

TEST(RedactTest, PreviewCutsOnCodePoints) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += (i % 2) ? "\xC3\xA9" : "\xF0\x9F\x9A\x80";  // é and a 4-byte emoji
  const std::string preview = redacted_preview(text, 240);
  EXPECT_TRUE(valid_utf8(preview));
  EXPECT_EQ(preview.size(), 120u * 2 + 120u * 4);  // exactly 240 code points
}

TEST(RedactTest, PreviewRedactsBeforeCutting) {
  // The cut falls inside the token: it must not leave a prefix that escaped the pattern.
  const std::string text = "x ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
  const std::string preview = redacted_preview(text, 12);
  EXPECT_EQ(preview.find("ghp_"), std::string::npos) << preview;
}

TEST(RedactTest, SanitizeReplacesInvalidBytes) {
  EXPECT_EQ(sanitize_utf8("ok"), "ok");
  EXPECT_EQ(sanitize_utf8("a\xff"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_TRUE(valid_utf8(sanitize_utf8("\xC3")));
  EXPECT_TRUE(valid_utf8(sanitize_utf8("\xed\xa0\x80 x \xc0\xaf")));
}

TEST(RedactTest, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

}  // namespace
}  // namespace ladder
