#include "router/prompt.h"

#include <gtest/gtest.h>

namespace ladder {
namespace {

TaskConfig classify_task() {
  TaskConfig t;
  t.name = "classify_issue";
  t.kind = TaskKind::kClassify;
  t.labels = {"build", "test"};
  t.prompt = "Classify the log as one of: {{labels}}.";
  t.examples = {{"make: *** error 1", {{"label", "build"}}}};
  return t;
}

TEST(PromptTest, HeaderModeAppendsExamplesAndInput) {
  std::string p = render_task_prompt(classify_task(), "FAIL  test_x\n  expected 1");
  EXPECT_EQ(p.rfind("Classify the log as one of: build, test.", 0), 0u) << p;
  EXPECT_NE(p.find("Input: make: *** error 1\nOutput: {\"label\": \"build\"}"), std::string::npos) << p;
  // the input is flattened to one line and the prompt ends where the answer starts
  EXPECT_NE(p.find("Input: FAIL test_x expected 1\nOutput:"), std::string::npos) << p;
  EXPECT_EQ(p.substr(p.size() - 7), "Output:");  // no trailing space
}

TEST(PromptTest, TemplateModeSubstitutesSlots) {
  TaskConfig t = classify_task();
  t.prompt = "L={{labels}}\n{{examples}}Q={{input}}\nA=";
  std::string p = render_task_prompt(t, "boom");
  EXPECT_NE(p.find("L=build, test"), std::string::npos);
  EXPECT_NE(p.find("Q=boom\nA="), std::string::npos);
  EXPECT_EQ(p.find("{{"), std::string::npos);
}

TEST(PromptTest, MacroPromptsListMacrosAndContinueWithChoice) {
  TaskConfig t;
  t.kind = TaskKind::kRouteMacro;
  t.prompt = "Macros:\n{{macros}}";
  t.examples = {{"triage acme/x", {{"macro", "repo_triage_v1"}, {"args", {{"repositoryOwner", "acme"}}}}},
                {"hello", {{"macro", "none"}}}};
  std::vector<MacroConfig> macros = {{"repo_triage_v1", "label pull requests", nlohmann::json::object(), {}}};
  std::string choice = render_macro_choice_prompt(t, macros, "triage foo/bar");
  EXPECT_NE(choice.find("- repo_triage_v1: label pull requests"), std::string::npos) << choice;
  EXPECT_NE(choice.find("- none:"), std::string::npos);
  EXPECT_NE(choice.find("Arguments: {\"repositoryOwner\": \"acme\"}"), std::string::npos) << choice;
  EXPECT_EQ(choice.substr(choice.size() - 6), "Macro:");
  std::string args = render_macro_args_prompt(t, macros, "triage foo/bar", "repo_triage_v1");
  EXPECT_EQ(args.rfind(choice, 0), 0u);
  EXPECT_EQ(args.substr(args.size() - 10), "Arguments:");
  EXPECT_NE(args.find("Macro: {\"macro\": \"repo_triage_v1\"}\nArguments:"), std::string::npos) << args;
}

TEST(PromptTest, EscalationPacketIsShortAndStatesReason) {
  std::string big(20000, 'x');
  big += "\xc3\xa9";
  auto p = escalation_packet(nullptr, "classify_issue", big, "{\"label\": \"build\"}", "confidence_low", nullptr, 100);
  EXPECT_EQ(p["reason"], "confidence_low");
  EXPECT_EQ(p["input"].get<std::string>().size(), 100u);
  EXPECT_TRUE(p["input_truncated"].get<bool>());
  EXPECT_EQ(p["local_answer"], "{\"label\": \"build\"}");
  EXPECT_NO_THROW(p.dump());
}

TEST(PromptTest, PacketNeverCutsInsideUtf8) {
  std::string s = "ab\xc3\xa9";  // 4 bytes, é at 2..3
  auto p = escalation_packet(nullptr, "t", s, "", "manual_override", nullptr, 3);
  EXPECT_EQ(p["input"], "ab");
}

}  // namespace
}  // namespace ladder
