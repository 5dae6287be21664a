#include "audit/redact.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ladder/utf8.h"

namespace ladder {
namespace {

struct SecretCase {
  std::string kind;    // expected "[REDACTED:<kind>]"
  std::string text;    // text carrying the secret
  std::string secret;  // the part that must disappear
};

// Fake credentials in each supported format.
std::vector<SecretCase> secret_cases() {
  return {
      {"github_token", "token is ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 ok",
       "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"},
      {"github_token", "oauth gho_ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210", "gho_ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"},
      {"github_token", "app ghs_1234567890abcdefghijABCDEFGHIJ123456", "ghs_1234567890abcdefghijABCDEFGHIJ123456"},
      {"github_token", "pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCD",
       "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCD"},
      {"gitlab_token", "CI_TOKEN glpat-abcDEF0123456789xyzQ used", "glpat-abcDEF0123456789xyzQ"},
      {"slack_token", "hook xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
       "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
      {"slack_token", "user xoxp-2222222222-3333333333-abcdefabcdef", "xoxp-2222222222-3333333333-abcdefabcdef"},
      {"aws_access_key", "key AKIAIOSFODNN7EXAMPLE in env", "AKIAIOSFODNN7EXAMPLE"},
      {"aws_access_key", "session ASIAY34FZKBOKMUTVV7A here", "ASIAY34FZKBOKMUTVV7A"},
      {"aws_secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
      {"npm_token", "//registry.npmjs.org/:_authToken npm_abcdefghijklmnopqrstuvwxyz0123456789",
       "npm_abcdefghijklmnopqrstuvwxyz0123456789"},
      {"api_key", "OPENAI_API_KEY sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789",
       "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789"},
      {"api_key", "anthropic sk-ant-api03-Abcdefghijklmnopqrstuvwxyz_0123456789-AA",
       "sk-ant-api03-Abcdefghijklmnopqrstuvwxyz_0123456789-AA"},
      {"bearer", "curl -H 'X: Bearer abc.def-ghi_jkl123' url", "abc.def-ghi_jkl123"},
      {"authorization", "Authorization: Basic dXNlcjpwYXNzd29yZA==\nnext line", "dXNlcjpwYXNzd29yZA=="},
      {"basic_auth", "git clone https://deploybot:s3cr3tP4ss@git.example.com/acme/infra.git", "s3cr3tP4ss"},
      {"credential", "db password=hunter2hunter2 host=x", "hunter2hunter2"},
      {"credential", "config {\"api_key\": \"k3y-value-123\"}", "k3y-value-123"},
      {"credential", "secret: topsecretvalue99", "topsecretvalue99"},
      {"credential", "passwd=CorrectHorse", "CorrectHorse"},
      {"credential", "url?token=abcdef123456&x=1", "abcdef123456"},
      {"credential", "export GITHUB_TOKEN=abc123xyz789", "abc123xyz789"},
      {"credential", "MY_APP_SECRET: 'quoted value here'", "quoted value here"},
      {"private_key",
       "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7Zq1\nq2w3e4r5t6y7u8i9o0p\n-----END RSA PRIVATE "
       "KEY-----\ndone",
       "MIIEowIBAAKCAQEA7Zq1"},
      {"private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA (truncated)",
       "b3BlbnNzaC1rZXktdjEAAAAA"},
      {"jwt", "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U;",
       "eyJzdWIiOiIxMjM0NTY3ODkwIn0"},
  };
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
