#include "validators/json_schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

namespace ladder {
namespace {

using nlohmann::json;

std::map<std::string, json> load_macro_schemas() {
  std::ifstream in(LADDER_SOURCE_DIR "/eval/macros.json");
  EXPECT_TRUE(in.good()) << "shared/eval/macros.json is missing beside the checkout";
  const json pack = json::parse(in);
  std::map<std::string, json> schemas;
  for (const auto& m : pack.at("macros")) schemas[m.at("id").get<std::string>()] = m.at("input_schema");
  return schemas;
}

class MacroSchemaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { schemas_ = new std::map<std::string, json>(load_macro_schemas()); }
  static void TearDownTestSuite() {
    delete schemas_;
    schemas_ = nullptr;
  }
  const json& schema(const std::string& id) { return schemas_->at(id); }
  static std::map<std::string, json>* schemas_;
};
std::map<std::string, json>* MacroSchemaTest::schemas_ = nullptr;

TEST_F(MacroSchemaTest, AllEightMacroSchemasCompile) {
  ASSERT_EQ(schemas_->size(), 8u);
  for (const auto& [id, s] : *schemas_) EXPECT_TRUE(check_json_schema(s).ok()) << id;
}

TEST_F(MacroSchemaTest, ValidDocumentForEveryMacro) {
  const std::map<std::string, json> valid = {
      {"repo_triage_v1",
       {{"repositoryOwner", "acme"},
        {"repositoryName", "checkout"},
        {"prCount", 3},
        {"labelStrategy", "conventional"}}},
      {"issue_label_v1", {{"owner", "acme"}, {"repo", "infra"}, {"issueNumber", 482}}},
      {"release_notes_v1", {{"owner", "acme"}, {"repo", "web"}, {"fromTag", "v1.2.0"}, {"toTag", "v1.3.0"}}},
      {"ci_failure_summary_v1", {{"owner", "acme"}, {"repo", "api"}, {"branch", "develop"}, {"runCount", 3}}},
      {"assign_reviewers_v1", {{"owner", "acme"}, {"repo", "api"}, {"prNumber", 17}, {"reviewerCount", 2}}},
      {"stale_sweep_v1", {{"owner", "acme"}, {"repo", "api"}, {"days", 90}, {"action", "label"}}},
      {"dependency_audit_v1", {{"owner", "acme"}, {"repo", "api"}, {"ecosystem", "npm"}}},
      {"welcome_contributor_v1", {{"owner", "acme"}, {"repo", "api"}, {"prNumber", 5}}},
  };
  ASSERT_EQ(valid.size(), schemas_->size());
  for (const auto& [id, doc] : valid) {
    Status s = validate_json_schema(schema(id), doc);
    EXPECT_TRUE(s.ok()) << id << ": " << s.to_string();
  }
}

TEST_F(MacroSchemaTest, PatternViolation) {
  Status s =
      validate_json_schema(schema("repo_triage_v1"), {{"repositoryOwner", "-acme"}, {"repositoryName", "checkout"}});
  EXPECT_EQ(s.code(), ErrorCode::kSchemaInvalid);
  EXPECT_NE(s.message().find("/repositoryOwner"), std::string::npos) << s.message();
  EXPECT_FALSE(
      validate_json_schema(schema("repo_triage_v1"), {{"repositoryOwner", "acme"}, {"repositoryName", "check out"}})
          .ok());
}

TEST_F(MacroSchemaTest, MinimumAndMaximum) {
  Status high = validate_json_schema(schema("repo_triage_v1"),
                                     {{"repositoryOwner", "acme"}, {"repositoryName", "x"}, {"prCount", 80}});
  EXPECT_EQ(high.code(), ErrorCode::kSchemaInvalid);
  EXPECT_NE(high.message().find("/prCount"), std::string::npos) << high.message();
  EXPECT_NE(high.message().find("80"), std::string::npos) << high.message();
  EXPECT_FALSE(
      validate_json_schema(schema("issue_label_v1"), {{"owner", "a"}, {"repo", "b"}, {"issueNumber", 0}}).ok());
  EXPECT_TRUE(validate_json_schema(schema("issue_label_v1"), {{"owner", "a"}, {"repo", "b"}, {"issueNumber", 1}}).ok());
  EXPECT_TRUE(validate_json_schema(schema("repo_triage_v1"),
                                   {{"repositoryOwner", "a"}, {"repositoryName", "b"}, {"prCount", 50}})
                  .ok());
}

TEST_F(MacroSchemaTest, AdditionalPropertiesRejected) {
  Status s = validate_json_schema(schema("welcome_contributor_v1"),
                                  {{"owner", "acme"}, {"repo", "api"}, {"prNumber", 5}, {"message", "hi"}});
  EXPECT_EQ(s.code(), ErrorCode::kSchemaInvalid);
}

TEST_F(MacroSchemaTest, RequiredPropertyMissing) {
  Status s = validate_json_schema(schema("release_notes_v1"), {{"owner", "acme"}, {"repo", "web"}, {"fromTag", "v1"}});
  EXPECT_EQ(s.code(), ErrorCode::kSchemaInvalid);
  EXPECT_NE(s.message().find("toTag"), std::string::npos) << s.message();
}

TEST_F(MacroSchemaTest, EnumViolation) {
  EXPECT_FALSE(
      validate_json_schema(schema("stale_sweep_v1"), {{"owner", "a"}, {"repo", "b"}, {"action", "delete"}}).ok());
  EXPECT_FALSE(
      validate_json_schema(schema("dependency_audit_v1"), {{"owner", "a"}, {"repo", "b"}, {"ecosystem", "NPM"}}).ok());
  EXPECT_TRUE(
      validate_json_schema(schema("stale_sweep_v1"), {{"owner", "a"}, {"repo", "b"}, {"action", "close"}}).ok());
}

TEST_F(MacroSchemaTest, WrongTypes) {
  EXPECT_FALSE(
      validate_json_schema(schema("issue_label_v1"), {{"owner", "a"}, {"repo", "b"}, {"issueNumber", "482"}}).ok());
  EXPECT_FALSE(
      validate_json_schema(schema("issue_label_v1"), {{"owner", "a"}, {"repo", "b"}, {"issueNumber", 4.5}}).ok());
  EXPECT_FALSE(validate_json_schema(schema("issue_label_v1"), {{"owner", 7}, {"repo", "b"}, {"issueNumber", 4}}).ok());
  EXPECT_FALSE(validate_json_schema(schema("issue_label_v1"), json::array({1, 2})).ok());
}

TEST_F(MacroSchemaTest, ApplySchemaDefaultsFillsOnlyMissingFields) {
  json args = apply_schema_defaults(schema("repo_triage_v1"), {{"repositoryOwner", "acme"}, {"repositoryName", "x"}});
  EXPECT_EQ(
      args,
      (json{{"repositoryOwner", "acme"}, {"repositoryName", "x"}, {"prCount", 5}, {"labelStrategy", "semantic"}}));
  json kept =
      apply_schema_defaults(schema("ci_failure_summary_v1"), {{"owner", "a"}, {"repo", "b"}, {"branch", "dev"}});
  EXPECT_EQ(kept["branch"], "dev");
  EXPECT_EQ(kept["runCount"], 1);
  // No defaults to add: unchanged. Not an object: unchanged.
  json plain = {{"owner", "a"}, {"repo", "b"}, {"issueNumber", 3}};
  EXPECT_EQ(apply_schema_defaults(schema("issue_label_v1"), plain), plain);
  EXPECT_EQ(apply_schema_defaults(schema("issue_label_v1"), json("x")), json("x"));
}

TEST(JsonSchemaTest, CheckRejectsBrokenSchemas) {
  EXPECT_EQ(check_json_schema(json::array()).code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(check_json_schema({{"type", "string"}, {"pattern", "([a-z"}}).code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(check_json_schema({{"type", 12}}).code(), ErrorCode::kConfigInvalid);
  EXPECT_TRUE(check_json_schema({{"type", "object"}}).ok());
}

TEST(JsonSchemaTest, ValidateWithBrokenSchemaIsAnErrorNotACrash) {
  Status s = validate_json_schema({{"type", "string"}, {"pattern", "(["}}, json("abc"));
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace ladder
