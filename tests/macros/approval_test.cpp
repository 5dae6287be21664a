// Approval tokens: bound to one macro and its exact arguments, expiring, and honoured by
// another Approvals only when both sign with the same key (replicas sharing a store).
#include "macros/approval.h"

#include <gtest/gtest.h>

#include <string>

namespace ladder::macros {
namespace {

using nlohmann::json;

const json kArgs = {{"repo", "acme/api"}, {"run_id", 42}};

TEST(ApprovalTest, TokenIsBoundToTheMacroTheArgumentsAndTheTime) {
  Approvals a(900);
  const std::string token = a.issue("rerun_ci", kArgs, 1000);
  EXPECT_TRUE(a.check(token, "rerun_ci", kArgs, 1000));
  EXPECT_TRUE(a.check(token, "rerun_ci", kArgs, 1900));
  EXPECT_FALSE(a.check(token, "rerun_ci", kArgs, 1901)) << "expired";
  EXPECT_FALSE(a.check(token, "delete_branch", kArgs, 1000));
  EXPECT_FALSE(a.check(token, "rerun_ci", {{"repo", "acme/api"}, {"run_id", 43}}, 1000));
  // A later expiry written into the token does not pass the MAC.
  EXPECT_FALSE(a.check("9999" + token.substr(token.find('.')), "rerun_ci", kArgs, 1000));
  for (const char* bad : {"", ".", "abc", "12.", ".ff", "1x.ff", "12345678901234567890.ff"})
    EXPECT_FALSE(a.check(bad, "rerun_ci", kArgs, 0)) << bad;
}

TEST(ApprovalTest, ASharedKeyIsHonouredAcrossInstancesARandomOneIsNot) {
  const std::string key(64, 'a');
  Approvals a(900, key), b(900, key);
  EXPECT_TRUE(b.check(a.issue("rerun_ci", kArgs, 1000), "rerun_ci", kArgs, 1000));
  Approvals c(900), d(900);
  EXPECT_FALSE(d.check(c.issue("rerun_ci", kArgs, 1000), "rerun_ci", kArgs, 1000));
  Approvals other(900, std::string(64, 'b'));
  EXPECT_FALSE(other.check(a.issue("rerun_ci", kArgs, 1000), "rerun_ci", kArgs, 1000));
}

}  // namespace
}  // namespace ladder::macros
