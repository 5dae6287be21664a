// macro_files in a policy: the routing view (active macros, file order), versions, and
// the cross-checks between macro files and the policy's tasks.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "config/loader.h"

namespace ladder {
namespace {

namespace fs = std::filesystem;

const char* kPolicyHead = R"(version: 1
models:
  local: {backend: openai, base_url: "http://127.0.0.1:9", model: m}
tiers:
  - {name: local, models: [local]}
tasks:
  classify_issue:
    kind: classify
    labels: [bug, feature]
  summarize:
    kind: generate
  route_macro:
    kind: route_macro
)";

std::string macro(const std::string& id, const std::string& extra = "", const std::string& steps = "") {
  return "id: " + id + "\nintent: do " + id + "\n" + extra +
         "input_schema: {type: object, properties: {owner: {type: string}}}\nsteps:\n" + steps +
         "  - id: done\n    emit: {}\n";
}

class PolicyMacros : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ladder-policy-macros-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "macros");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  Result<ConfigPtr> load(const std::string& files) {
    write("policy.yaml", std::string(kPolicyHead) + "macro_files: " + files + "\n");
    return load_policy_file((dir_ / "policy.yaml").string());
  }
  fs::path dir_;
};

TEST_F(PolicyMacros, ActiveMacrosAreRoutableInFileOrder) {
  write("macros/b_v1.yaml", macro("b_v1"));
  write("macros/a_v1.yaml", macro("a_v1"));
  write("macros/a_v2.yaml", macro("a_v2", "status: deprecated\n"));
  write("macros/old_v1.yaml", macro("old_v1", "status: retired\nsuccessor: b_v1\n"));
  auto c = load("[macros/b_v1.yaml, macros/a_v1.yaml, macros/a_v2.yaml, macros/old_v1.yaml]");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ((*c)->macros.size(), 2u) << "deprecated and retired versions are not offered to the router";
  EXPECT_EQ((*c)->macros[0].id, "b_v1");
  EXPECT_EQ((*c)->macros[1].id, "a_v1");
  EXPECT_EQ((*c)->macro_definitions.size(), 4u);
  EXPECT_NE((*c)->find_macro_definition("old_v1"), nullptr);
}

TEST_F(PolicyMacros, ProblemsInAMacroFileNameThatFileAndLine) {
  write("macros/bad_v1.yaml",
        "id: bad_v1\nintent: x\ninput_schema: {type: object, properties: {}}\nsteps:\n  - id: s\n    emitt: {}\n");
  auto c = load("[macros/bad_v1.yaml]");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("bad_v1.yaml:6: steps[0].emitt"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("policy.yaml:"), std::string::npos) << c.status().message();
}

TEST_F(PolicyMacros, MissingFileDuplicateIdAndBadList) {
  auto missing = load("[macros/nope.yaml]");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.yaml"), std::string::npos);
  write("macros/a_v1.yaml", macro("a_v1"));
  write("macros/a_copy.yaml", macro("a_v1"));
  auto dup = load("[macros/a_v1.yaml, macros/a_copy.yaml]");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("duplicate macro id"), std::string::npos);
  auto not_list = load("macros/a_v1.yaml");
  ASSERT_FALSE(not_list.ok());
  auto empty = load("[]");
  ASSERT_FALSE(empty.ok());
}

TEST_F(PolicyMacros, OnlyOneWayToGiveMacros) {
  write("macros/a_v1.yaml", macro("a_v1"));
  write("policy.yaml", std::string(kPolicyHead) +
                           "macro_files: [macros/a_v1.yaml]\nmacros:\n  - {id: x_v1, intent: x, input_schema: {type: "
                           "object, properties: {}}}\n");
  auto c = load_policy_file((dir_ / "policy.yaml").string());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("give one of macros, macros_file, macro_files"), std::string::npos);
}

TEST_F(PolicyMacros, SuccessorsAndClassifyTasksMustExist) {
  write("macros/a_v1.yaml", macro("a_v1", "status: retired\nsuccessor: a_v9\n"));
  write("macros/b_v1.yaml", macro("b_v1"));
  auto no_successor = load("[macros/a_v1.yaml, macros/b_v1.yaml]");
  ASSERT_FALSE(no_successor.ok());
  EXPECT_NE(no_successor.status().message().find("successor \"a_v9\""), std::string::npos)
      << no_successor.status().message();

  write("macros/c_v1.yaml", macro("c_v1", "", "  - id: kind\n    classify: {task: nope, input: x}\n"));
  auto no_task = load("[macros/b_v1.yaml, macros/c_v1.yaml]");
  ASSERT_FALSE(no_task.ok());
  EXPECT_NE(no_task.status().message().find("c_v1.yaml:5: step \"kind\" classifies with task \"nope\""),
            std::string::npos)
      << no_task.status().message();

  write("macros/d_v1.yaml", macro("d_v1", "", "  - id: kind\n    classify: {task: summarize, input: x}\n"));
  auto wrong_kind = load("[macros/b_v1.yaml, macros/d_v1.yaml]");
  ASSERT_FALSE(wrong_kind.ok());
  EXPECT_NE(wrong_kind.status().message().find("needs a classify task"), std::string::npos);
}

TEST_F(PolicyMacros, RouteMacroNeedsAnActiveMacro) {
  write("macros/a_v1.yaml", macro("a_v1", "status: deprecated\n"));
  auto c = load("[macros/a_v1.yaml]");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("route_macro task needs a non-empty macros list"), std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace ladder
