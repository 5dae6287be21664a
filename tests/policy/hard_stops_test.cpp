#include "policy/hard_stops.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"

namespace ladder {
namespace {

using ::testing::HasSubstr;

HardStopConfig small_config() {
  HardStopConfig c;
  c.security = {{"cve", "\\bcve-\\d{4}-\\d+"}, {"vuln", "\\bvulnerab\\w*"}};
  c.access = {{"forbidden", "\\b(403|forbidden)\\b"}, {"token", "\\btoken expired\\b"}};
  c.production = {{"deploy", "\\bdeploy\\w*"}, {"drop", "\\bdrop table\\b"}};
  return c;
}

std::unique_ptr<HardStopScanner> make(const HardStopConfig& config) {
  auto scanner = HardStopScanner::create(config);
  EXPECT_TRUE(scanner.ok()) << scanner.status().message();
  return scanner.ok() ? std::move(scanner).value() : nullptr;
}

TEST(HardStopScannerTest, MatchesEachCategory) {
  auto s = make(small_config());
  ASSERT_TRUE(s);
  auto sec = s->scan("found CVE-2023-12345 in libfoo", "input");
  ASSERT_TRUE(sec);
  EXPECT_EQ(sec->category, "security");
  EXPECT_EQ(sec->rule_id, "cve");
  EXPECT_EQ(sec->where, "input");
  EXPECT_EQ(sec->matched, "CVE-2023-12345");
  auto acc = s->scan("HTTP 403 from the registry", "answer");
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->category, "access");
  EXPECT_EQ(acc->rule_id, "forbidden");
  EXPECT_EQ(acc->where, "answer");
  EXPECT_EQ(acc->matched, "403");
  auto prod = s->scan("please DROP TABLE users", "args");
  ASSERT_TRUE(prod);
  EXPECT_EQ(prod->category, "production");
  EXPECT_EQ(prod->rule_id, "drop");
  EXPECT_EQ(prod->matched, "DROP TABLE");
}

TEST(HardStopScannerTest, HarmlessTextDoesNotMatch) {
  auto s = make(small_config());
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->scan("unit test failed: expected 4 got 3", "input"));
  EXPECT_FALSE(s->scan("", "input"));
  EXPECT_FALSE(s->scan("dropped frames: 4031", "input"));
}

TEST(HardStopScannerTest, PriorityIsSecurityThenAccessThenProduction) {
  auto s = make(small_config());
  ASSERT_TRUE(s);
  // Production words come first in the text, security last: security still wins.
  auto all = s->scan("deploy failed with 403 Forbidden because of CVE-2024-0001", "input");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->category, "security");
  auto access_over_prod = s->scan("deploy failed: token expired", "input");
  ASSERT_TRUE(access_over_prod);
  EXPECT_EQ(access_over_prod->category, "access");
  EXPECT_EQ(access_over_prod->rule_id, "token");
}

TEST(HardStopScannerTest, WithinACategoryTheFirstRuleWins) {
  auto s = make(small_config());
  ASSERT_TRUE(s);
  auto m = s->scan("a vulnerability, CVE-2020-1234", "input");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule_id, "cve");
}

TEST(HardStopScannerTest, ScanAllListsEveryRuleInPriorityOrder) {
  auto s = make(small_config());
  ASSERT_TRUE(s);
  auto all = s->scan_all("deploying a fix for a vulnerability (CVE-2024-1111), 403 forbidden", "input");
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].rule_id, "cve");
  EXPECT_EQ(all[1].rule_id, "vuln");
  EXPECT_EQ(all[2].rule_id, "forbidden");
  EXPECT_EQ(all[3].rule_id, "deploy");
  EXPECT_EQ(all[3].matched, "deploying");
  EXPECT_TRUE(s->scan_all("nothing here", "input").empty());
}

TEST(HardStopScannerTest, CaseInsensitive) {
  auto s = make(small_config());
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->scan("VULNERABLE", "input"));
  EXPECT_TRUE(s->scan("Deployment", "input"));
  EXPECT_TRUE(s->scan("cve-2021-44228", "input"));
}

TEST(HardStopScannerTest, EmptyConfigNeverMatches) {
  auto s = make(HardStopConfig{});
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->scan("deploy to production after CVE-2024-1 with 403", "input"));
  EXPECT_TRUE(s->scan_all("deploy", "input").empty());
}

TEST(HardStopScannerTest, BadPatternIsConfigInvalidNamingTheRule) {
  HardStopConfig c = small_config();
  c.access.push_back({"broken-rule", "(unclosed"});
  auto s = HardStopScanner::create(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_THAT(s.status().message(), HasSubstr("broken-rule"));
  EXPECT_THAT(s.status().message(), HasSubstr("hard_stops.access"));
}

TEST(HardStopScannerTest, InvalidUtf8InputDoesNotCrash) {
  auto s = make(small_config());
  ASSERT_TRUE(s);
  std::string text = "deploy \xFF\xFE now";
  auto m = s->scan(text, "input");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule_id, "deploy");
}

TEST(HardStopReasonTest, MapsCategories) {
  EXPECT_EQ(hard_stop_reason("security"), Reason::kHardStopSecurity);
  EXPECT_EQ(hard_stop_reason("access"), Reason::kHardStopAccess);
  EXPECT_EQ(hard_stop_reason("production"), Reason::kHardStopProduction);
  EXPECT_EQ(hard_stop_reason("something-else"), Reason::kHardStopSecurity);
}

// The shipped rule set: concept-level positives and negatives for each category.
class ExampleRulesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto config = load_policy_file(std::string(LADDER_SOURCE_DIR) + "/examples/maintainer/policy.yaml");
    ASSERT_TRUE(config.ok()) << config.status().message();
    auto scanner = HardStopScanner::create((*config)->hard_stops);
    ASSERT_TRUE(scanner.ok()) << scanner.status().message();
    scanner_ = std::move(scanner).value().release();
  }
  static void TearDownTestSuite() {
    delete scanner_;
    scanner_ = nullptr;
  }
  static std::string category(const std::string& text) {
    auto m = scanner_->scan(text, "input");
    return m ? m->category : "none";
  }
  static HardStopScanner* scanner_;
};
HardStopScanner* ExampleRulesTest::scanner_ = nullptr;

TEST_F(ExampleRulesTest, Security) {
  for (const char* text : {
           "pip-audit: jinja2 3.1.2 has known issue PYSEC-2024-7, fix in 3.1.3",
           "cargo audit: RUSTSEC-2023-0052 found in webpki",
           "Advisory GHSA-abcd-2345-wxyz affects your lockfile",
           "grype sbom:./sbom.json reports 2 High findings",
           "Potential SQL injection in the search endpoint",
           "An exposed API key was committed in .env.production",
           "Found a hard-coded password in deploy/config.php",
           "SSL: CERTIFICATE_VERIFY_FAILED certificate verify failed: unable to get local issuer",
           "Please do a security review of the session cookie change",
           "osv-scanner flagged 3 packages",
           "-----BEGIN RSA PRIVATE KEY----- found in repo",
           "The dependabot alerts page lists 4 open items",
           "Trivy: found 2 vulnerabilities in base image",
       }) {
    EXPECT_EQ(category(text), "security") << text;
  }
}

TEST_F(ExampleRulesTest, Access) {
  for (const char* text : {
           "error: failed to push some refs: remote returned error: 403",
           "HTTP/1.1 401 Unauthorized",
           "ERROR: permission denied for schema public",
           "fatal: Authentication failed for 'https://git.example.org/team/app.git/'",
           "Bad credentials: the GITHUB_TOKEN was not accepted",
           "Your personal access token has expired",
           "the token lacks the read:packages scope",
           "Error: SAML SSO enforcement requires you to authorize this token",
           "Load key \"/home/ci/.ssh/id_ed25519\": invalid format; git@host: Permission denied (publickey).",
           "Error: unauthorized: authentication required for registry.example.com",
           "npm error code E403 forbidden",
           "Give the bot maintainer access on infra repo",
           "docker login failed for ghcr.io",
       }) {
    EXPECT_EQ(category(text), "access") << text;
  }
}

TEST_F(ExampleRulesTest, Production) {
  for (const char* text : {
           "Deploy the api to prod after lunch",
           "release v2 to production tonight",
           "delete the feature branches in web",
           "Drop the analytics tables",
           "close all issues labelled wontfix",
           "merge PR 77 once green",
           "force-push the rebased branch",
           "git push origin main --force",
           "rotate the signing cert",
           "run the database migration on staging",
           "roll back yesterday's release",
           "terraform destroy the preview stack",
           "kubectl delete ns preview",
           "truncate the events table",
           "grant the new team write on the repo",
           "archive the repository acme/old-site",
       }) {
    EXPECT_EQ(category(text), "production") << text;
  }
}

TEST_F(ExampleRulesTest, HarmlessLogsAndRequestsStayClear) {
  for (const char* text : {
           "error: expected ';' before '}' token",
           "SyntaxError: Unexpected token '<' in JSON at position 0",
           "error: 'size_t' was not declared in this scope",
           "TypeError: closure is not a function",
           "tokenizer.json not found, falling back to slow tokenizer",
           "FAIL test/cart.spec.ts: expected 3 items, received 2",
           "ERROR: No matching distribution found for torch==9.0",
           "ld: undefined reference to `zlib_inflate'",
           "Draft release notes for acme/api between v1.0.0 and v1.1.0",
           "summarize why CI is red on the develop branch of acme/app",
           "list the outdated npm packages in acme/web",
           "assign two reviewers to PR #12 in acme/api",
           "label the last 5 pull requests of acme/api",
           "audit the dependencies of acme/relay",
           "welcome the new contributor on pull request 9 in acme/docs",
           "warning: unused variable 'authority_count'",
           "Automatic merge failed; fix conflicts and then commit the result.",
           "error: use of deleted function",  // 'deleted' is not 'delete'
           "Tests: 1 failed, 48 passed; line 401 of parser.c",
       }) {
    auto m = scanner_->scan(text, "input");
    EXPECT_FALSE(m.has_value()) << text << " -> " << (m ? m->rule_id + " '" + m->matched + "'" : "");
  }
}

}  // namespace
}  // namespace ladder
