// Inputs for the redaction tests: one fake credential of each supported format, and a
// varied set built from them (pairs, JSON, invalid UTF-8, case changes, clean text) whose
// redacted forms are pinned in data/redact-golden.txt.
#pragma once

#include <string>
#include <vector>

namespace ladder::testing {

struct SecretCase {
  std::string kind;    // expected "[REDACTED:<kind>]"
  std::string text;    // text carrying the secret
  std::string secret;  // the part that must disappear
};

// Fake credentials in each supported format.
inline std::vector<SecretCase> secret_cases() {
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

// Deterministic: the golden file lists the redacted form of each, in this order.
inline std::vector<std::string> varied_redaction_inputs() {
  std::vector<std::string> inputs = {
      "",
      "plain prose with no secrets at all, just words and numbers 12345",
      "a token by itself is not a secret; neither is the word password",
      "sk-learn is a library; ghp_ short; AKIA short",
      "bearer",
      "Authorization:",
      "\xff\xfe invalid \xc3 utf-8 \xe2\x82 bytes",
      std::string(5000, 'a') + " end",
  };
  const auto cases = secret_cases();
  for (const auto& c : cases) {
    inputs.push_back(c.text);
    inputs.push_back("{\"field\": \"" + c.text + "\"}");
    inputs.push_back("\xff" + c.text + "\xc3");
    std::string upper = c.text;
    for (char& ch : upper) {
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    }
    inputs.push_back(upper);
    inputs.push_back(c.secret);
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& next = cases[(i * 7 + 3) % cases.size()];
    inputs.push_back(cases[i].text + "\n" + next.text);
    inputs.push_back(cases[i].text + " " + next.secret + " " + cases[i].secret);
    inputs.push_back("password=" + cases[i].secret + "&token=" + next.secret);
  }
  return inputs;
}

}  // namespace ladder::testing
