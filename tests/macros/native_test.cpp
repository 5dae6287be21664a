#include "macros/native.h"

#include <gtest/gtest.h>

namespace ladder::macros {
namespace {

using nlohmann::json;

json call(const std::string& name, const json& input) {
  NativeRegistry r = NativeRegistry::with_builtins();
  const NativeHandler* h = r.find(name);
  EXPECT_NE(h, nullptr);
  auto out = (*h)(input, NativeContext{"m_v1", "s", "2026-11-01T00:00:00Z"});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : json();
}

TEST(ConventionalCommit, ParsesTypeScopeAndBreaking) {
  json a = call("conventional_commit", {{"title", "feat(cart): add coupon field"}});
  EXPECT_EQ(a["conventional"], true);
  EXPECT_EQ(a["type"], "feat");
  EXPECT_EQ(a["scope"], "cart");
  EXPECT_EQ(a["breaking"], false);
  EXPECT_EQ(a["subject"], "add coupon field");
  json b = call("conventional_commit", {{"title", "Fix!: drop v1 API"}});
  EXPECT_EQ(b["type"], "fix");
  EXPECT_EQ(b["breaking"], true);
  json c = call("conventional_commit", {{"title", "Update README"}});
  EXPECT_EQ(c["conventional"], false);
  EXPECT_TRUE(c["type"].is_null());
}

TEST(ConventionalCommit, RejectsWrongInput) {
  NativeRegistry r = NativeRegistry::with_builtins();
  auto out = (*r.find("conventional_commit"))(json{{"title", 5}}, NativeContext{});
  EXPECT_FALSE(out.ok());
}

TEST(DependabotBump, ReadsTitleAndBranch) {
  json a = call("dependabot_bump", {{"title", "Bump lodash from 4.17.20 to 4.17.21"},
                                    {"branch", "dependabot/npm_and_yarn/lodash-4.17.21"}});
  EXPECT_EQ(a["package"], "lodash");
  EXPECT_EQ(a["from"], "4.17.20");
  EXPECT_EQ(a["to"], "4.17.21");
  EXPECT_EQ(a["ecosystem"], "npm");
  json b = call("dependabot_bump", {{"title", "chore(deps): bump golang.org/x/net from 0.17.0 to 0.23.0 in /api"},
                                    {"branch", "dependabot/go_modules/api/golang.org/x/net-0.23.0"}});
  EXPECT_EQ(b["package"], "golang.org/x/net");
  EXPECT_EQ(b["directory"], "/api");
  EXPECT_EQ(b["ecosystem"], "go");
  EXPECT_TRUE(call("dependabot_bump", {{"title", "Bump the npm group with 3 updates"}, {"branch", "x"}}).is_null());
}

TEST(ReleaseNotes, GroupsBySectionAndWritesMarkdown) {
  json in = {{"from", "v1.2.0"},
             {"to", "v1.3.0"},
             {"commits",
              {{{"sha", "aaaaaaaa1"}, {"message", "feat(cart): coupons\n\nbody"}, {"author", "alice"}},
               {{"sha", "bbbbbbbb2"}, {"message", "fix: rounding"}, {"author", "bob"}},
               {{"sha", "cccccccc3"}, {"message", "feat!: new API"}, {"author", nullptr}},
               {{"sha", "dddddddd4"}, {"message", "Merge branch main"}, {"author", "carol"}}}}};
  json out = call("release_notes", in);
  EXPECT_EQ(out["sections"]["feat"].size(), 1u);
  EXPECT_EQ(out["sections"]["fix"].size(), 1u);
  EXPECT_EQ(out["sections"]["breaking"].size(), 1u);
  EXPECT_EQ(out["sections"]["other"].size(), 1u);
  const std::string md = out["markdown"];
  EXPECT_NE(md.find("## v1.3.0"), std::string::npos);
  EXPECT_NE(md.find("- **cart:** coupons (aaaaaaa) @alice"), std::string::npos);
  EXPECT_LT(md.find("Breaking changes"), md.find("Features"));
}

TEST(PickReviewers, RanksByHistoryAndExcludesAuthorAndRequested) {
  json out = call("pick_reviewers", {{"author", "grace"},
                                     {"count", 2},
                                     {"candidates", {"alice", "bob", "carol", "grace", "dave"}},
                                     {"history", {{"bob", "bob", "carol"}, {"carol"}, {"grace"}}},
                                     {"exclude", {"dave"}}});
  EXPECT_EQ(out, json::array({"carol", "bob"}));
}

TEST(NativeRegistry, AddReplacesAndListsHandlers) {
  NativeRegistry r;
  EXPECT_EQ(r.find("x"), nullptr);
  r.add("x", [](const json&, const NativeContext&) -> Result<json> { return json(1); });
  r.add("x", [](const json&, const NativeContext&) -> Result<json> { return json(2); });
  ASSERT_NE(r.find("x"), nullptr);
  EXPECT_EQ(*(*r.find("x"))(json(), NativeContext{}), 2);
  EXPECT_EQ(r.names(), std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace ladder::macros
