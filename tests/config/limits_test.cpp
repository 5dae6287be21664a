// Hostile policy and macro inputs: alias bombs, deep nesting, oversized and non-regular
// files. Each is refused with a stable code and a message naming the file.
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/macro_file.h"
#include "config/yaml_reader.h"
#include "ladder/utf8.h"

namespace ladder {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const std::string kHead = R"(version: 1
models:
  small:
    backend: embedded
    path: models/small.gguf
tiers:
  - name: local
    models: [small]
)";

// A generate task whose output_schema holds `schema_yaml` (already indented by 6).
std::string with_schema(const std::string& anchors, const std::string& schema_yaml) {
  return kHead + anchors + "tasks:\n  gen:\n    kind: generate\n    output_schema:\n" + schema_yaml;
}

// 8 levels of 9 aliases each: 9^8 (43 million) leaves once expanded, 2 KB of text.
std::string alias_bomb() {
  std::string anchors = "anchors:\n  l0: &l0 [\"xxxxxxxxxxxxxxxx\"]\n";
  for (int level = 1; level <= 8; ++level) {
    anchors += "  l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 9; ++i) anchors += (i ? ", *l" : "*l") + std::to_string(level - 1);
    anchors += "]\n";
  }
  return anchors;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("ladder_limits_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << text;
    return (path_ / name).string();
  }

 private:
  fs::path path_;
};

TEST(ConfigLimitsTest, AliasBombInAnOutputSchemaIsRefused) {
  // The bomb sits in an ignored-by-nobody place: the schema's `enum` expands it.
  std::string bomb = alias_bomb();
  // Drop the "anchors:" helper key (unknown keys are errors anyway): define the anchors
  // inside the schema itself so only the expansion can make this policy fail.
  std::string yaml = kHead + "tasks:\n  gen:\n    kind: generate\n    output_schema:\n      type: object\n";
  yaml += "      x-anchors:\n";
  for (std::size_t pos = bomb.find("  l0"); pos < bomb.size();) {
    std::size_t end = bomb.find('\n', pos);
    yaml += "      " + bomb.substr(pos, end - pos) + "\n";
    pos = end + 1;
  }
  yaml += "      enum: *l8\n";
  auto result = load_policy_yaml(yaml, "policy.yaml", "/base");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_THAT(result.status().message(), HasSubstr("more than 100000 YAML nodes"));
}

TEST(ConfigLimitsTest, ModestAliasesStillLoad) {
  std::string yaml = with_schema("",
                                 "      type: object\n      x-a: &a {type: string}\n      properties:\n"
                                 "        one: *a\n        two: *a\n");
  auto result = load_policy_yaml(yaml, "policy.yaml", "/base");
  ASSERT_TRUE(result.ok()) << result.status().message();
  const TaskConfig* task = (*result)->find_task("gen");
  ASSERT_NE(task, nullptr);
  EXPECT_EQ((*task->output_schema)["properties"]["two"]["type"], "string");
}

TEST(ConfigLimitsTest, DeepNestingIsRefused) {
  std::string deep = "      x: ";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  auto result = load_policy_yaml(with_schema("", "      type: object\n" + deep + "\n"), "policy.yaml", "/base");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_THAT(result.status().message(), HasSubstr("nested deeper than 64"));
}

TEST(ConfigLimitsTest, SelfReferenceIsRefusedNotLooped) {
  // yaml-cpp registers the anchor before its content, so this alias points at itself.
  auto result = load_policy_yaml(with_schema("", "      type: object\n      x: &a [*a]\n"), "policy.yaml", "/b");
  ASSERT_FALSE(result.ok());
}

// Found by fuzzing (fuzz/regressions/yaml_scalar, policy_yaml): std::regex recursed once
// per character and a long scalar, variable name, placeholder or pattern overflowed the
// stack of `ladder policy check`. Each is now an error, or loads.
TEST(ConfigLimitsTest, LongScalarsDoNotOverflowTheStack) {
  const std::string digits(300000, '7');
  auto version = load_policy_yaml("version: " + digits + "\n" + kHead.substr(kHead.find('\n') + 1), "policy.yaml", "/");
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), ErrorCode::kConfigInvalid);

  const std::string task = "tasks:\n  gen:\n    kind: generate\n";
  const std::string remote =
      "version: 1\nmodels:\n  big:\n    backend: openai\n    base_url: http://127.0.0.1:9\n"
      "    model: m\n    api_key_env: " +
      std::string(300000, 'A') + "-\ntiers:\n  - name: frontier\n    models: [big]\n";
  auto env = load_policy_yaml(remote + task, "policy.yaml", "/");
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.status().message(), HasSubstr("expected an environment variable name"));

  auto prompt =
      load_policy_yaml(kHead + task + "    prompt: \"{{" + std::string(300000, 'x') + "}}\"\n", "policy.yaml", "/");
  ASSERT_FALSE(prompt.ok());
  EXPECT_THAT(prompt.status().message(), HasSubstr("unknown placeholder"));

  auto pattern = load_policy_yaml(with_schema("", "      {type: object, properties: {a: {type: string, pattern: \"" +
                                                      std::string(300000, 'a') + "\"}}}\n"),
                                  "policy.yaml", "/");
  ASSERT_FALSE(pattern.ok());
  EXPECT_THAT(pattern.status().message(), HasSubstr("pattern: longer than 4096 bytes"));
}

TEST(ConfigLimitsTest, NonRegularFilesAreNotRead) {
  auto policy = load_policy_file("/dev/zero");
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("/dev/zero: not a regular file"));

  TempDir dir;
  std::string p = dir.write("p.yaml", kHead + "tasks:\n  route:\n    kind: route_macro\nmacro_files: [/dev/zero]\n");
  auto macro_files = load_policy_file(p);
  ASSERT_FALSE(macro_files.ok());
  EXPECT_THAT(macro_files.status().message(), HasSubstr("/dev/zero: not a regular file"));

  std::string q = dir.write("q.yaml", kHead + "tasks:\n  route:\n    kind: route_macro\nmacros_file: /dev/zero\n");
  auto macros_file = load_policy_file(q);
  ASSERT_FALSE(macros_file.ok());
  EXPECT_THAT(macros_file.status().message(), HasSubstr("/dev/zero: not a regular file"));

  auto macro = load_macro_file("/dev/zero");
  ASSERT_FALSE(macro.ok());
  EXPECT_THAT(macro.status().message(), HasSubstr("not a regular file"));
}

TEST(ConfigLimitsTest, OversizedFilesAreRefused) {
  TempDir dir;
  std::string big = kHead + "# " + std::string(config_detail::kMaxConfigFileBytes, 'x') + "\n";
  auto result = load_policy_file(dir.write("big.yaml", big));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_THAT(result.status().message(), HasSubstr("larger than 1048576 bytes"));

  auto macro = load_macro_file(dir.write("big-macro.yaml", big));
  ASSERT_FALSE(macro.ok());
  EXPECT_EQ(macro.status().code(), ErrorCode::kPayloadTooLarge);
}

// Found by fuzz/yaml_scalar (fuzz/regressions/yaml_scalar/nul-read-as-utf32.bin): a NUL
// made yaml-cpp read the text as UTF-32 and hand back strings that are not UTF-8, which
// then broke every JSON dump of them. Control characters YAML does not allow are refused.
TEST(ConfigLimitsTest, ControlCharactersAreRefusedBeforeYamlSeesThem) {
  for (const std::string& bad :
       {std::string("-\0\0\0\0\0\0\x08\x0b", 9), kHead + "# bell \x07\n", kHead + "tasks: {}\x7f\n"}) {
    auto result = load_policy_yaml(bad, "policy.yaml", "/base");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kParseError);
    EXPECT_THAT(result.status().message(), HasSubstr("control character U+00"));
    EXPECT_TRUE(valid_utf8(result.status().message())) << result.status().message();
  }
  auto tabs = load_policy_yaml(kHead + "#\tcomment with a tab\r\n", "policy.yaml", "/base");
  EXPECT_THAT(tabs.status().message(), ::testing::Not(HasSubstr("control character")));
}

// Found by fuzz/yaml_scalar (out of memory): within the node budget, aliases to a long
// scalar made a 15 KB policy expand to about 100 MB of strings (and to gigabytes one level
// deeper). Expanded scalar bytes are budgeted too.
TEST(ConfigLimitsTest, AliasesToALongScalarAreBudgetedByBytes) {
  std::string yaml = with_schema("", "      type: object\n      x-s: &s \"" + std::string(15000, 'x') + "\"\n");
  std::string prev = "s";
  for (int level = 0; level < 4; ++level) {
    const std::string name = "l" + std::to_string(level);
    yaml += "      x-" + name + ": &" + name + " [";
    for (int i = 0; i < 9; ++i) {
      yaml += i ? ",*" : "*";
      yaml += prev;
    }
    yaml += "]\n";
    prev = name;
  }
  ASSERT_LT(yaml.size(), 20000u);
  auto result = load_policy_yaml(yaml, "policy.yaml", "/base");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_THAT(result.status().message(), HasSubstr("bytes of scalar text"));
}

// Found by fuzz/yaml_scalar (out of memory): on this 392-byte input yaml-cpp's LoadAll
// never stops producing documents. Documents are counted by the event parser, two at most.
TEST(ConfigLimitsTest, AStreamOfEndlessDocumentsStopsAtTheSecond) {
  auto text = config_detail::read_config_file(std::string(LADDER_SOURCE_DIR) +
                                              "/fuzz/regressions/yaml_scalar/loadall-never-ends.yaml");
  ASSERT_TRUE(text.ok()) << text.status().message();
  auto result = load_policy_yaml(*text, "policy.yaml", "/base");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("expected one YAML document"));
  auto two = load_policy_yaml(kHead + "---\nversion: 1\n", "policy.yaml", "/base");
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(two.status().message(), HasSubstr("expected one YAML document"));
}

}  // namespace
}  // namespace ladder
