#include "config/loader.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ladder {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace fs = std::filesystem;

const std::string kSource = LADDER_SOURCE_DIR;
const std::string kExample = kSource + "/examples/maintainer/policy.yaml";

// A small valid policy; tests replace one piece of it at a time.
const std::string kHead = R"(version: 1
models:
  small:
    backend: embedded
    path: models/small.gguf
  big:
    backend: openai
    base_url: http://127.0.0.1:9000/v1
    model: gpt-big
tiers:
  - name: local
    models: [small]
  - name: frontier
    models: [big]
)";
const std::string kTask = R"(tasks:
  triage:
    kind: classify
    labels: [build, test, other]
    escalate_labels: [other]
    min_confidence: 0.4
)";

Result<ConfigPtr> load(const std::string& yaml) { return load_policy_yaml(yaml, "policy.yaml", "/base/dir"); }

// Loads and expects failure; returns the message.
std::string fail(const std::string& yaml, ErrorCode code = ErrorCode::kConfigInvalid) {
  auto result = load(yaml);
  EXPECT_FALSE(result.ok()) << yaml;
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), code) << result.status().message();
  return result.status().message();
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("ladder_config_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << text;
    return (path_ / name).string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(LoaderTest, MinimalPolicyLoadsWithDefaults) {
  auto result = load(kHead + kTask);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const Config& c = **result;
  EXPECT_EQ(c.source_path, "policy.yaml");
  ASSERT_EQ(c.models.size(), 2u);
  EXPECT_EQ(c.models.at("small").backend, "embedded");
  EXPECT_EQ(c.models.at("small").model_path, "/base/dir/models/small.gguf");
  EXPECT_EQ(c.models.at("small").context_size, 4096);
  EXPECT_EQ(c.models.at("big").base_url, "http://127.0.0.1:9000/v1");
  EXPECT_EQ(c.models.at("big").model, "gpt-big");
  EXPECT_EQ(c.models.at("big").retry.max_retries, 2);
  ASSERT_EQ(c.tiers.size(), 2u);
  EXPECT_EQ(c.tiers[0].name, "local");
  EXPECT_EQ(c.tiers[1].models, std::vector<std::string>{"big"});
  const TaskConfig* t = c.find_task("triage");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->kind, TaskKind::kClassify);
  EXPECT_TRUE(t->local_allowed);
  EXPECT_DOUBLE_EQ(t->min_confidence, 0.4);
  EXPECT_EQ(t->max_input_chars, 16000);
  ASSERT_TRUE(t->output_schema.has_value());
  EXPECT_EQ(*t->output_schema, classify_output_schema({"build", "test", "other"}));
  EXPECT_TRUE(c.hard_stops.security.empty());
  EXPECT_TRUE(c.capabilities.privacy_forces_local);
  EXPECT_FALSE(c.kill_switch);
  EXPECT_FALSE(c.escalate_unknown_tasks);
  EXPECT_TRUE(c.macros.empty());
}

TEST(LoaderTest, ClassifyOutputSchemaShape) {
  auto schema = classify_output_schema({"x", "y"});
  EXPECT_EQ(schema["type"], "object");
  EXPECT_EQ(schema["additionalProperties"], false);
  EXPECT_EQ(schema["required"], nlohmann::json::array({"label"}));
  EXPECT_EQ(schema["properties"]["label"]["type"], "string");
  EXPECT_EQ(schema["properties"]["label"]["enum"], nlohmann::json::array({"x", "y"}));
}

TEST(LoaderTest, ExamplePolicyLoads) {
  auto result = load_policy_file(kExample);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const Config& c = **result;
  const auto& gemma = c.models.at("gemma-local");
  EXPECT_EQ(gemma.backend, "embedded");
  EXPECT_EQ(gemma.model_path, (fs::path(kSource) / "models/gemma-3-270m-q4_k_m.gguf").lexically_normal().string());
  EXPECT_EQ(gemma.context_size, 4096);
  EXPECT_EQ(gemma.threads, 2);
  const auto& frontier = c.models.at("frontier");
  EXPECT_EQ(frontier.backend, "anthropic");
  EXPECT_EQ(frontier.base_url, "http://127.0.0.1:8089");
  EXPECT_EQ(frontier.model, "claude-sonnet-4-5");
  EXPECT_EQ(frontier.api_key_env, "ANTHROPIC_API_KEY");
  EXPECT_EQ(frontier.connect_timeout_ms, 500);
  EXPECT_EQ(frontier.request_timeout_ms, 30000);
  EXPECT_EQ(frontier.retry.max_retries, 1);
  ASSERT_EQ(c.tiers.size(), 3u);
  EXPECT_EQ(c.tiers[0].models, std::vector<std::string>{"gemma-local"});
  EXPECT_EQ(c.tiers[1].models, std::vector<std::string>{"qwen-local"});
  EXPECT_TRUE(c.tiers[1].local);
  EXPECT_EQ(c.tiers[2].models, std::vector<std::string>{"frontier"});
  EXPECT_FALSE(c.tiers[2].local);

  const TaskConfig* classify = c.find_task("classify_issue");
  ASSERT_NE(classify, nullptr);
  EXPECT_EQ(classify->labels,
            (std::vector<std::string>{"build", "test", "dependency", "security", "access", "unknown"}));
  EXPECT_EQ(classify->escalate_labels, (std::vector<std::string>{"security", "access", "unknown"}));
  EXPECT_EQ(*classify->output_schema, classify_output_schema(classify->labels));
  EXPECT_GE(classify->examples.size(), 6u);
  EXPECT_LE(classify->examples.size(), 24u);
  EXPECT_THAT(classify->prompt, HasSubstr("build:"));
  EXPECT_EQ(classify->calibration, "content_free");
  for (const auto& example : classify->examples) {
    EXPECT_TRUE(example.output["label"].is_string());
  }
  const TaskConfig* summarize = c.find_task("summarize_log");
  ASSERT_NE(summarize, nullptr);
  EXPECT_EQ(summarize->kind, TaskKind::kGenerate);
  EXPECT_EQ((*summarize->output_schema)["properties"]["summary"]["type"], "string");
  ASSERT_TRUE(summarize->reduce.has_value());
  EXPECT_EQ(summarize->checks.grounded, (std::vector<std::string>{"errors", "files", "packages"}));
  ASSERT_TRUE(classify->reduce.has_value());
  ASSERT_NE(c.find_task("propose_code_change"), nullptr);
  EXPECT_FALSE(c.find_task("propose_code_change")->local_allowed);
  ASSERT_NE(c.find_task("security_review"), nullptr);
  EXPECT_FALSE(c.find_task("security_review")->local_allowed);
  ASSERT_NE(c.find_task("route_macro"), nullptr);
  EXPECT_EQ(c.find_task("route_macro")->kind, TaskKind::kRouteMacro);

  EXPECT_GE(c.hard_stops.security.size(), 5u);
  EXPECT_GE(c.hard_stops.access.size(), 5u);
  EXPECT_GE(c.hard_stops.production.size(), 5u);
  EXPECT_TRUE(c.capabilities.privacy_forces_local);
  EXPECT_EQ(c.capabilities.max_context_tokens, 3000);
  EXPECT_EQ(c.capabilities.max_tool_chain, 8);
  EXPECT_FALSE(c.audit.store_raw_prompt);
  EXPECT_EQ(c.audit.preview_chars, 240);
  EXPECT_TRUE(c.audit.jsonl_path.empty());
}

// The inline macros of the example policy are exactly the shared macro pack (a copy of
// shared/eval/macros.json lives in tests/config/data).
TEST(LoaderTest, ExampleMacrosMatchTheMacroPackExactly) {
  auto result = load_policy_file(kExample);
  ASSERT_TRUE(result.ok()) << result.status().message();
  std::ifstream in(kSource + "/tests/config/data/macros.json");
  ASSERT_TRUE(in.good());
  auto pack = nlohmann::json::parse(in);
  const auto& macros = (*result)->macros;
  ASSERT_EQ(macros.size(), pack["macros"].size());
  for (std::size_t i = 0; i < macros.size(); ++i) {
    const auto& want = pack["macros"][i];
    EXPECT_EQ(macros[i].id, want["id"]);
    EXPECT_EQ(macros[i].intent, want["intent"]);
    EXPECT_EQ(macros[i].input_schema, want["input_schema"]) << macros[i].id;
    EXPECT_EQ(macros[i].irreversible_when, want.value("irreversible_when", nlohmann::json::object())) << macros[i].id;
  }
  const auto* stale = (*result)->find_macro("stale_sweep_v1");
  ASSERT_NE(stale, nullptr);
  EXPECT_TRUE(stale->input_schema["properties"]["days"]["default"].is_number_integer());
}

TEST(LoaderTest, MissingFileIsNotFound) {
  auto result = load_policy_file(kSource + "/no/such/policy.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("no/such/policy.yaml"));
  auto dir = load_policy_file(kSource + "/examples");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), ErrorCode::kNotFound);
}

TEST(LoaderTest, FileErrorsNameTheFile) {
  TempDir dir;
  std::string path = dir.write("p.yaml", kHead + kTask + "bogus: 1\n");
  auto result = load_policy_file(path);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), StartsWith(path + ":21: bogus: unknown key"));
}

TEST(LoaderTest, MalformedYamlNamesTheLine) {
  std::string msg = fail("version: 1\nmodels: [a,\ntiers: 2\n", ErrorCode::kParseError);
  EXPECT_THAT(msg, StartsWith("policy.yaml:4: (document): malformed YAML"));
  msg = fail("version: 1\nmodels:\n  a: b\n   c: d\n", ErrorCode::kParseError);
  EXPECT_THAT(msg, StartsWith("policy.yaml:4:"));
  msg = fail("version: 1\ntiers: a: b\n", ErrorCode::kParseError);
  EXPECT_THAT(msg, StartsWith("policy.yaml:2: (document): malformed YAML"));
}

TEST(LoaderTest, InvalidUtf8IsAParseErrorWithLine) {
  std::string yaml = kHead + kTask;
  yaml += "# caf\xC3\x28 broken\n";
  std::string msg = fail(yaml, ErrorCode::kParseError);
  EXPECT_THAT(msg, StartsWith("policy.yaml:21: (document): invalid UTF-8"));
  msg = fail("version: 1\n\xFF\n", ErrorCode::kParseError);
  EXPECT_THAT(msg, StartsWith("policy.yaml:2:"));
}

TEST(LoaderTest, EmptyAndNonMappingRoots) {
  EXPECT_THAT(fail(""), StartsWith("policy.yaml:1: (root): the policy is empty"));
  EXPECT_THAT(fail("# only a comment\n"), HasSubstr("the policy is empty"));
  EXPECT_THAT(fail("- a\n- b\n"), StartsWith("policy.yaml:1: (root): expected a mapping, got a sequence"));
  EXPECT_THAT(fail("just text\n"), HasSubstr("expected a mapping, got \"just text\""));
  EXPECT_THAT(fail("~\n"), HasSubstr("expected a mapping, got null"));
  EXPECT_THAT(fail("version: 1\n---\nversion: 1\n"), HasSubstr("expected one YAML document"));
}

TEST(LoaderTest, UnknownKeysAtEveryDepth) {
  EXPECT_THAT(fail(kHead + kTask + "colour: blue\n"), StartsWith("policy.yaml:21: colour: unknown key \"colour\""));
  std::string yaml = kHead + kTask;
  yaml.replace(yaml.find("    model: gpt-big\n"), 18, "    model: gpt-big\n    modle: x\n");
  EXPECT_THAT(fail(yaml), StartsWith("policy.yaml:10: models.big.modle: unknown key"));
  EXPECT_THAT(fail(kHead + kTask + "    sdescription: x\n"),
              StartsWith("policy.yaml:21: tasks.triage.sdescription: unknown key"));
  EXPECT_THAT(fail(kHead + kTask + "capabilities:\n  max_tools: 3\n"),
              StartsWith("policy.yaml:22: capabilities.max_tools: unknown key"));
  EXPECT_THAT(fail(kHead + kTask + "audit:\n  path: x\n"), StartsWith("policy.yaml:22: audit.path: unknown key"));
  EXPECT_THAT(fail(kHead + kTask + "hard_stops:\n  security:\n    - id: a\n      pattern: x\n      note: y\n"),
              StartsWith("policy.yaml:25: hard_stops.security[0].note: unknown key"));
  EXPECT_THAT(fail(kHead + kTask + "hard_stops:\n  secrets: []\n"),
              StartsWith("policy.yaml:22: hard_stops.secrets: unknown key"));
  EXPECT_THAT(fail(kHead + kTask + "    examples:\n      - input: x\n        output: {label: build}\n        why: z\n"),
              StartsWith("policy.yaml:24: tasks.triage.examples[0].why: unknown key"));
  std::string tiers = kHead;
  tiers.replace(tiers.find("  - name: frontier\n"), 19, "  - name: frontier\n    weight: 2\n");
  EXPECT_THAT(fail(tiers + kTask), StartsWith("policy.yaml:14: tiers[1].weight: unknown key"));
  std::string retry = kHead;
  retry.replace(retry.find("    model: gpt-big\n"), 18,
                "    model: gpt-big\n    retry:\n      max_retries: 1\n      backof: 3\n");
  EXPECT_THAT(fail(retry + kTask), StartsWith("policy.yaml:12: models.big.retry.backof: unknown key"));
}

TEST(LoaderTest, WrongTypesAreErrors) {
  std::string yaml = kHead + kTask;
  yaml.replace(yaml.find("min_confidence: 0.4"), 19, "min_confidence: high");
  EXPECT_EQ(fail(yaml), "policy.yaml:20: tasks.triage.min_confidence: expected a number in [0, 1], got \"high\"");
  yaml = kHead + kTask;
  yaml.replace(yaml.find("min_confidence: 0.4"), 19, "min_confidence: 1.5");
  EXPECT_THAT(fail(yaml), HasSubstr("expected a number in [0, 1], got 1.5"));
  EXPECT_THAT(fail("version: \"1\"\n" + kHead.substr(11) + kTask),
              StartsWith("policy.yaml:1: version: expected an integer in [1, 1], got \"1\""));
  EXPECT_THAT(fail("version: 2\n" + kHead.substr(11) + kTask),
              HasSubstr("version: expected an integer in [1, 1], got 2"));
  EXPECT_THAT(fail(kHead + kTask + "    local: yes\n"),
              HasSubstr("tasks.triage.local: expected true or false, got \"yes\""));
  EXPECT_THAT(fail(kHead + kTask + "    max_input_chars: 0\n"),
              HasSubstr("tasks.triage.max_input_chars: expected an integer >= 1, got 0"));
  EXPECT_THAT(fail(kHead + kTask + "    max_tokens: \"64\"\n"),
              HasSubstr("tasks.triage.max_tokens: expected an integer >= 1, got \"64\""));
  EXPECT_THAT(fail(kHead + kTask + "    max_tokens: 6.5\n"), HasSubstr("expected an integer"));
  EXPECT_THAT(fail(kHead + kTask + "    description: [a, b]\n"),
              HasSubstr("tasks.triage.description: expected a string, got a sequence"));
  EXPECT_THAT(fail(kHead + kTask + "kill_switch: 1\n"), HasSubstr("kill_switch: expected true or false, got 1"));
  EXPECT_THAT(fail(kHead + kTask + "shadow: {}\n"), HasSubstr("shadow: expected true or false, got a mapping"));
  EXPECT_THAT(fail(kHead + kTask + "escalate_unknown_tasks: yes please\n"),
              HasSubstr("escalate_unknown_tasks: expected true or false"));
  EXPECT_THAT(fail(kHead + kTask + "audit:\n  preview_chars: 241\n"),
              HasSubstr("audit.preview_chars: expected an integer in [0, 240], got 241"));
  EXPECT_THAT(fail(kHead + kTask + "audit:\n  on_failure: ignore\n"),
              HasSubstr("audit.on_failure: expected one of open, closed, got \"ignore\""));
  EXPECT_THAT(fail(kHead + kTask + "health:\n  failures_to_mark_down: 0\n"),
              HasSubstr("health.failures_to_mark_down: expected an integer in [1, 1000], got 0"));
  EXPECT_THAT(fail(kHead + kTask + "health:\n  cooldown_ms: -1\n"),
              HasSubstr("health.cooldown_ms: expected an integer in [0, 3600000], got -1"));
  EXPECT_THAT(fail(kHead + kTask + "health:\n  probe_every: 5\n"), HasSubstr("health.probe_every"));
  EXPECT_THAT(fail(kHead + kTask + "capabilities:\n  max_context_tokens: -5\n"),
              HasSubstr("capabilities.max_context_tokens: expected an integer >= 1, got -5"));
  EXPECT_THAT(fail(kHead + kTask + "capabilities:\n  privacy_forces_local: maybe\n"),
              HasSubstr("capabilities.privacy_forces_local: expected true or false"));
  std::string labels = kHead + kTask;
  labels.replace(labels.find("labels: [build, test, other]"), 28, "labels: build");
  EXPECT_THAT(fail(labels), HasSubstr("tasks.triage.labels: expected a sequence, got \"build\""));
  EXPECT_THAT(fail(kHead + "tasks: [triage]\n"), HasSubstr("tasks: expected a mapping, got a sequence"));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: classify\n    labels: [build, 7]\n"),
              HasSubstr("tasks.t.labels[1]: expected a string, got 7"));
}

TEST(LoaderTest, ModelFieldsAreChecked) {
  auto with_model = [](const std::string& model) {
    std::string yaml = kHead;
    yaml.replace(yaml.find("  big:\n"), 7, model + "  big:\n");
    return yaml + kTask;
  };
  EXPECT_THAT(fail(with_model("  m:\n    path: x.gguf\n")), HasSubstr("models.m.backend: required key is missing"));
  EXPECT_THAT(fail(with_model("  m:\n    backend: vllm\n")),
              HasSubstr("models.m.backend: expected one of embedded, openai, ollama, anthropic, got \"vllm\""));
  EXPECT_THAT(fail(with_model("  m:\n    backend: embedded\n")), HasSubstr("models.m.path: required key is missing"));
  EXPECT_THAT(fail(with_model("  m:\n    backend: embedded\n    path: a.gguf\n    base_url: http://x\n")),
              HasSubstr("models.m.base_url: key \"base_url\" does not apply to backend \"embedded\""));
  EXPECT_THAT(fail(with_model("  m:\n    backend: openai\n    model: x\n")),
              HasSubstr("models.m.base_url: required key is missing"));
  EXPECT_THAT(fail(with_model("  m:\n    backend: openai\n    base_url: http://h:1\n")),
              HasSubstr("models.m.model: required key is missing"));
  EXPECT_THAT(fail(with_model("  m:\n    backend: openai\n    base_url: ftp://h\n    model: x\n")),
              HasSubstr("models.m.base_url: expected a URL starting with http:// or https://, got \"ftp://h\""));
  EXPECT_THAT(fail(with_model("  m:\n    backend: openai\n    base_url: http://h\n    model: x\n    keep_alive: 5m\n")),
              HasSubstr("key \"keep_alive\" does not apply to backend \"openai\""));
  EXPECT_THAT(
      fail(with_model("  m:\n    backend: ollama\n    base_url: http://h\n    model: x\n    anthropic_version: v\n")),
      HasSubstr("key \"anthropic_version\" does not apply to backend \"ollama\""));
  EXPECT_THAT(fail(with_model("  m:\n    backend: anthropic\n    base_url: http://h\n    model: x\n    path: p\n")),
              HasSubstr("key \"path\" does not apply to backend \"anthropic\""));
  EXPECT_THAT(fail(with_model("  m:\n    backend: embedded\n    path: a\n    threads: -1\n")),
              HasSubstr("models.m.threads: expected an integer in [0, 1024], got -1"));
  EXPECT_THAT(fail(with_model("  m:\n    backend: embedded\n    path: a\n    context_size: 0\n")),
              HasSubstr("models.m.context_size: expected an integer >= 1"));
  EXPECT_THAT(fail(with_model(
                  "  m:\n    backend: openai\n    base_url: http://h\n    model: x\n    api_key_env: \"MY KEY\"\n")),
              HasSubstr("models.m.api_key_env: expected an environment variable name"));
  EXPECT_THAT(
      fail(with_model("  m:\n    backend: openai\n    base_url: http://h\n    model: x\n    retry: {jitter: 2}\n")),
      HasSubstr("models.m.retry.jitter: expected a number in [0, 1], got 2"));
  EXPECT_THAT(fail(with_model("  m:\n    backend: openai\n    base_url: http://h\n    model: x\n    retry: "
                              "{initial_backoff_ms: 500, max_backoff_ms: 100}\n")),
              HasSubstr("models.m.retry.max_backoff_ms: must be >= initial_backoff_ms"));

  auto ok = load(
      with_model("  m:\n    backend: ollama\n    base_url: https://h:11434/\n    model: qwen\n    keep_alive: 30m\n"
                 "    retry: {max_retries: 0, initial_backoff_ms: 10, max_backoff_ms: 20, jitter: 0}\n"));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  const auto& m = (*ok)->models.at("m");
  EXPECT_EQ(m.base_url, "https://h:11434");
  EXPECT_EQ(m.keep_alive, "30m");
  EXPECT_EQ(m.retry.max_retries, 0);
  EXPECT_EQ(m.retry.max_backoff_ms, 20);
  EXPECT_DOUBLE_EQ(m.retry.jitter, 0.0);
  auto abs = load(with_model("  m:\n    backend: embedded\n    path: /opt/m.gguf\n"));
  ASSERT_TRUE(abs.ok()) << abs.status().message();
  EXPECT_EQ((*abs)->models.at("m").model_path, "/opt/m.gguf");
}

TEST(LoaderTest, MissingRequiredTopLevelKeys) {
  EXPECT_THAT(fail("models: {}\n"), HasSubstr("policy.yaml:1: version: required key is missing"));
  std::string no_tasks = fail(kHead);
  EXPECT_THAT(no_tasks, HasSubstr("tasks: required key is missing"));
  std::string no_tiers = kHead.substr(0, kHead.find("tiers:")) + kTask;
  EXPECT_THAT(fail(no_tiers), HasSubstr("tiers: required key is missing"));
  EXPECT_THAT(fail("version: 1\ntiers: []\ntasks: {}\n"), HasSubstr("models: required key is missing"));
}

TEST(LoaderTest, TierRules) {
  std::string bad_model = kHead;
  bad_model.replace(bad_model.find("models: [big]"), 13, "models: [big, huge]");
  EXPECT_THAT(fail(bad_model + kTask), StartsWith("policy.yaml:14: tiers[1].models[1]: unknown model \"huge\""));
  std::string empty = kHead.substr(0, kHead.find("tiers:")) + "tiers: []\n" + kTask;
  EXPECT_THAT(fail(empty), HasSubstr("tiers: at least one tier is required"));
  std::string dup = kHead;
  dup.replace(dup.find("name: frontier"), 14, "name: local");
  EXPECT_THAT(fail(dup + kTask), HasSubstr("tiers[1].name: duplicate tier name \"local\""));
  std::string no_models = kHead;
  no_models.replace(no_models.find("models: [big]"), 13, "models: []");
  EXPECT_THAT(fail(no_models + kTask), HasSubstr("tiers[1].models: a tier needs at least one model"));
}

TEST(LoaderTest, TaskRules) {
  std::string esc = kHead + kTask;
  esc.replace(esc.find("escalate_labels: [other]"), 24, "escalate_labels: [other, security]");
  EXPECT_THAT(
      fail(esc),
      StartsWith("policy.yaml:19: tasks.triage.escalate_labels[1]: escalate label \"security\" is not in labels"));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: classify\n"), HasSubstr("tasks.t.labels: required key is missing"));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    description: x\n"), HasSubstr("tasks.t.kind: required key is missing"));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: summarise\n"),
              HasSubstr("tasks.t.kind: expected one of classify, extract, generate, route_macro, got \"summarise\""));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: generate\n    labels: [a]\n"),
              HasSubstr("tasks.t.labels: only classify tasks take labels"));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: classify\n    labels: [a, a]\n"),
              HasSubstr("tasks.t.labels[1]: duplicate entry \"a\""));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: route_macro\n"),
              HasSubstr("tasks.t: a route_macro task needs a non-empty macros list"));
  EXPECT_THAT(fail(kHead + "tasks: {}\n"), HasSubstr("tasks: at least one task is required"));
  EXPECT_THAT(fail(kHead + kTask + "    prompt: \"Classify. {{examples}}\"\n"),
              HasSubstr("tasks.triage.prompt: {{examples}} needs {{input}}"));
  EXPECT_THAT(fail(kHead + kTask + "    calibration: platt\n"),
              HasSubstr("tasks.triage.calibration: expected one of none, content_free, got \"platt\""));
  EXPECT_THAT(fail(kHead + kTask + "    calibration: [content_free]\n"), HasSubstr("tasks.triage.calibration"));
  EXPECT_THAT(fail(kHead + kTask + "    prompt: \"{{input}} {{lables}}\"\n"),
              HasSubstr("unknown placeholder {{lables}}"));
  EXPECT_THAT(fail(kHead + kTask + "    examples:\n      - input: x\n        output: {label: deploy}\n"),
              HasSubstr("tasks.triage.examples[0].output.label: example label \"deploy\" is not in labels"));
  EXPECT_THAT(fail(kHead + kTask + "    examples:\n      - input: x\n        output: build\n"),
              HasSubstr("tasks.triage.examples[0].output: expected a mapping, got \"build\""));
  EXPECT_THAT(fail(kHead + kTask + "    examples:\n      - output: {label: build}\n"),
              HasSubstr("tasks.triage.examples[0].input: required key is missing"));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: generate\n    output_schema: {type: strng}\n"),
              HasSubstr("tasks.t.output_schema.type: unknown JSON type \"strng\""));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: generate\n    output_schema: {type: object, required: summary}\n"),
              HasSubstr("tasks.t.output_schema.required: expected a list of distinct property names"));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: generate\n    output_schema: [summary]\n"),
              HasSubstr("tasks.t.output_schema: expected a mapping (a JSON Schema), got a sequence"));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: generate\n    output_schema:\n      type: object\n"
                           "      properties: {n: {type: integer, default: \"3\"}}\n"),
              HasSubstr("tasks.t.output_schema.properties.n.default: default does not match the declared type"));
}

TEST(LoaderTest, YamlScalarsKeepTheirJsonTypes) {
  std::string yaml = kHead + R"(tasks:
  t:
    kind: extract
    local: false
    scan_answer: false
    prompt: "Extract from {{input}}"
    output_schema:
      type: object
      properties:
        n: {enum: [5, "5", true, "true", null, 2.5, "null", -3, 0x10]}
    examples:
      - input: "a"
        output: {n: 5, s: "5", b: false, q: 'false', z: ~, f: 1.0e3, w: hello}
)";
  auto result = load(yaml);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const TaskConfig& t = *(*result)->find_task("t");
  EXPECT_FALSE(t.local_allowed);
  EXPECT_FALSE(t.scan_answer);
  const auto& e = (*t.output_schema)["properties"]["n"]["enum"];
  ASSERT_EQ(e.size(), 9u);
  EXPECT_TRUE(e[0].is_number_integer());
  EXPECT_EQ(e[0], 5);
  EXPECT_TRUE(e[1].is_string());
  EXPECT_TRUE(e[2].is_boolean());
  EXPECT_TRUE(e[3].is_string());
  EXPECT_TRUE(e[4].is_null());
  EXPECT_TRUE(e[5].is_number_float());
  EXPECT_TRUE(e[6].is_string());
  EXPECT_EQ(e[7], -3);
  EXPECT_EQ(e[8], 16);
  const auto& out = t.examples.at(0).output;
  EXPECT_EQ(out["n"], 5);
  EXPECT_EQ(out["s"], "5");
  EXPECT_EQ(out["b"], false);
  EXPECT_EQ(out["q"], "false");
  EXPECT_TRUE(out["z"].is_null());
  EXPECT_DOUBLE_EQ(out["f"].get<double>(), 1000.0);
  EXPECT_EQ(out["w"], "hello");
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: extract\n    output_schema: {maximum: .inf}\n"),
              HasSubstr("tasks.t.output_schema.maximum: JSON has no value for .inf"));
}

TEST(LoaderTest, DuplicateKeysAreErrors) {
  EXPECT_THAT(fail(kHead + kTask + "    min_confidence: 0.9\n"),
              StartsWith("policy.yaml:21: tasks.triage.min_confidence: duplicate key"));
  EXPECT_THAT(fail(kHead + "tasks:\n  t:\n    kind: generate\n    output_schema: {type: object, type: string}\n"),
              HasSubstr("tasks.t.output_schema.type: duplicate key"));
}

TEST(LoaderTest, EvidenceRulesPerLabel) {
  const std::string task = kTask + "    evidence:\n      build:\n        - {id: diag, pattern: 'error TS\\d+'}\n";
  auto result = load(kHead + task);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const auto& evidence = (*result)->find_task("triage")->evidence;
  ASSERT_EQ(evidence.size(), 1u);
  ASSERT_EQ(evidence.at("build").size(), 1u);
  EXPECT_EQ(evidence.at("build")[0].id, "diag");
  EXPECT_EQ(evidence.at("build")[0].pattern, "error TS\\d+");

  EXPECT_THAT(fail(kHead + kTask + "    evidence:\n      lint:\n        - {id: a, pattern: x}\n"),
              HasSubstr("tasks.triage.evidence.lint: evidence label \"lint\" is not in labels"));
  EXPECT_THAT(fail(kHead + kTask + "    evidence:\n      build:\n        - {id: a, pattern: '(x'}\n"),
              HasSubstr("pattern of rule \"a\" does not compile"));
  EXPECT_THAT(fail(kHead + kTask +
                   "    evidence:\n      build:\n        - {id: a, pattern: x}\n      test:\n"
                   "        - {id: a, pattern: y}\n"),
              HasSubstr("duplicate evidence id \"a\" (already used in build)"));
  EXPECT_THAT(fail(kHead + kTask + "    evidence: [build]\n"), HasSubstr("tasks.triage.evidence: expected a mapping"));
  EXPECT_THAT(fail(kHead + kTask + "    evidence:\n      build: lint\n"),
              HasSubstr("tasks.triage.evidence.build: expected a sequence"));
  EXPECT_THAT(fail(kHead + "tasks:\n  write:\n    kind: generate\n    evidence:\n      build: []\n"),
              HasSubstr("only classify tasks take evidence"));
}

TEST(LoaderTest, EvidenceWeights) {
  const std::string rules = kTask +
                            "    evidence:\n      build:\n        - {id: lint, weak: true, pattern: eslint}\n"
                            "        - {id: diag, pattern: 'error TS\\d+'}\n      test:\n"
                            "        - {id: in-test, outranks: [build, build], pattern: 'FAIL '}\n";
  auto result = load(kHead + rules);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const auto& weights = (*result)->find_task("triage")->evidence_weights;
  ASSERT_EQ(weights.size(), 2u);  // diag weighs plainly and is not listed
  EXPECT_TRUE(weights.at("lint").weak);
  EXPECT_TRUE(weights.at("lint").outranks.empty());
  EXPECT_FALSE(weights.at("in-test").weak);
  EXPECT_EQ(weights.at("in-test").outranks, (std::vector<std::string>{"build"}));

  auto rule = [](const std::string& fields) {
    return kHead + kTask + "    evidence:\n      build:\n        - {id: a, pattern: x, " + fields + "}\n";
  };
  EXPECT_THAT(fail(rule("weak: maybe")),
              HasSubstr("tasks.triage.evidence.build[0].weak: expected true or false, got \"maybe\""));
  EXPECT_THAT(fail(rule("outranks: test")), HasSubstr("tasks.triage.evidence.build[0].outranks: expected a sequence"));
  EXPECT_THAT(fail(rule("outranks: [lint]")), HasSubstr("outranks label \"lint\" is not in labels"));
  EXPECT_THAT(fail(rule("outranks: [build]")), HasSubstr("a rule cannot outrank its own label \"build\""));
  EXPECT_THAT(fail(rule("outranks: [other]")),
              HasSubstr("label \"other\" escalates: its evidence cannot be outranked"));
  // Hard stops take neither.
  EXPECT_THAT(fail(kHead + kTask + "hard_stops:\n  security:\n    - {id: s, pattern: x, weak: true}\n"),
              HasSubstr("hard_stops.security[0].weak: unknown key"));
}

TEST(LoaderTest, HardStopRules) {
  std::string ok_yaml = kHead + kTask +
                        "hard_stops:\n  security:\n    - {id: cve, pattern: '\\bcve-\\d+'}\n"
                        "  access:\n    - {id: denied, pattern: 'denied'}\n"
                        "  production:\n    - {id: deploy, pattern: '\\bdeploy'}\n";
  auto result = load(ok_yaml);
  ASSERT_TRUE(result.ok()) << result.status().message();
  ASSERT_EQ((*result)->hard_stops.security.size(), 1u);
  EXPECT_EQ((*result)->hard_stops.security[0].pattern, "\\bcve-\\d+");
  EXPECT_EQ((*result)->hard_stops.access[0].id, "denied");
  EXPECT_EQ((*result)->hard_stops.production[0].id, "deploy");

  EXPECT_THAT(fail(kHead + kTask + "hard_stops:\n  security:\n    - {id: bad, pattern: '(unclosed'}\n"),
              StartsWith("policy.yaml:23: hard_stops.security[0].pattern: pattern of rule \"bad\" does not compile"));
  EXPECT_THAT(fail(kHead + kTask + "hard_stops:\n  security:\n    - {id: la, pattern: '(?<=x)y'}\n"),
              HasSubstr("does not compile"));
  EXPECT_THAT(fail(kHead + kTask +
                   "hard_stops:\n  security:\n    - {id: a, pattern: x}\n"
                   "  production:\n    - {id: a, pattern: y}\n"),
              HasSubstr("hard_stops.production[0].id: duplicate hard-stop id \"a\" (already used in security)"));
  EXPECT_THAT(fail(kHead + kTask + "hard_stops:\n  access:\n    - {id: a}\n"),
              HasSubstr("hard_stops.access[0].pattern: required key is missing"));
  EXPECT_THAT(fail(kHead + kTask + "hard_stops:\n  access:\n    - {id: a, pattern: ''}\n"),
              HasSubstr("hard_stops.access[0].pattern: expected a non-empty string"));
  EXPECT_THAT(fail(kHead + kTask + "hard_stops:\n  access: deny\n"),
              HasSubstr("hard_stops.access: expected a sequence"));
}

const std::string kMacro = R"(macros:
  - id: sweep
    intent: label quiet issues stale
    irreversible_when: {action: close}
    input_schema:
      type: object
      required: [owner]
      properties:
        owner: {type: string}
        days: {type: integer, default: 60}
        action: {type: string, enum: [label, close], default: label}
)";

TEST(LoaderTest, MacrosInline) {
  auto result = load(kHead + "tasks:\n  route:\n    kind: route_macro\n" + kMacro);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const MacroConfig* m = (*result)->find_macro("sweep");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->irreversible_when, (nlohmann::json{{"action", "close"}}));
  EXPECT_EQ(m->input_schema["properties"]["days"]["default"], 60);

  std::string dup = kMacro + "  - id: sweep\n    intent: again\n    input_schema: {type: object, properties: {}}\n";
  EXPECT_THAT(fail(kHead + kTask + dup), HasSubstr("macros[1].id: duplicate macro id \"sweep\""));
  std::string bad_when = kMacro;
  bad_when.replace(bad_when.find("{action: close}"), 15, "{mode: close}");
  EXPECT_THAT(
      fail(kHead + kTask + bad_when),
      HasSubstr("macros[0].irreversible_when.mode: argument \"mode\" is not among the input_schema properties"));
  EXPECT_THAT(fail(kHead + kTask + "macros:\n  - id: m\n    intent: x\n    input_schema: {type: array}\n"),
              HasSubstr("macros[0].input_schema.type: a macro's input schema must have type: object"));
  EXPECT_THAT(fail(kHead + kTask + "macros:\n  - id: m\n    intent: x\n    input_schema: {type: object}\n"),
              HasSubstr("macros[0].input_schema.properties: a macro's input schema needs a properties mapping"));
  EXPECT_THAT(fail(kHead + kTask + "macros:\n  - id: m\n    input_schema: {type: object, properties: {}}\n"),
              HasSubstr("macros[0].intent: required key is missing"));
  EXPECT_THAT(fail(kHead + kTask +
                   "macros:\n  - id: m\n    intent: x\n    input_schema: {type: object, properties: {a: {type: string, "
                   "enum: [x], default: y}}}\n"),
              HasSubstr("input_schema.properties.a.default: default is not one of the enum values"));
  EXPECT_THAT(fail(kHead + kTask + "macros: []\n"), HasSubstr("macros: expected at least one macro"));
}

TEST(LoaderTest, MacrosFile) {
  TempDir dir;
  std::ifstream pack_in(kSource + "/tests/config/data/macros.json");
  std::string pack((std::istreambuf_iterator<char>(pack_in)), std::istreambuf_iterator<char>());
  dir.write("macros.json", pack);
  std::string policy =
      dir.write("policy.yaml", kHead + "tasks:\n  route:\n    kind: route_macro\nmacros_file: macros.json\n");
  auto from_file = load_policy_file(policy);
  ASSERT_TRUE(from_file.ok()) << from_file.status().message();
  auto inline_policy = load_policy_file(kExample);
  ASSERT_TRUE(inline_policy.ok());
  ASSERT_EQ((*from_file)->macros.size(), (*inline_policy)->macros.size());
  for (std::size_t i = 0; i < (*from_file)->macros.size(); ++i) {
    EXPECT_EQ((*from_file)->macros[i].id, (*inline_policy)->macros[i].id);
    EXPECT_EQ((*from_file)->macros[i].input_schema, (*inline_policy)->macros[i].input_schema);
    EXPECT_EQ((*from_file)->macros[i].irreversible_when, (*inline_policy)->macros[i].irreversible_when);
  }

  // Missing file.
  std::string missing = dir.write("missing.yaml", kHead + kTask + "macros_file: nope.json\n");
  auto r1 = load_policy_file(missing);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_THAT(r1.status().message(), HasSubstr(":21: macros_file: cannot read macros file"));
  // Malformed JSON.
  dir.write("broken.json", "{\"macros\": [ {\"id\": \"x\", }");
  auto r2 = load_policy_file(dir.write("broken.yaml", kHead + kTask + "macros_file: broken.json\n"));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), ErrorCode::kParseError);
  EXPECT_THAT(r2.status().message(), HasSubstr("macros_file: \"broken.json\" is not valid JSON"));
  // Well-formed JSON of the wrong shape.
  dir.write("shape.json", "{\"macros\": {\"id\": \"x\"}}");
  auto r3 = load_policy_file(dir.write("shape.yaml", kHead + kTask + "macros_file: shape.json\n"));
  ASSERT_FALSE(r3.ok());
  EXPECT_THAT(r3.status().message(), HasSubstr("expected a JSON object with a \"macros\" list"));
  dir.write("fields.json",
            "{\"macros\": [{\"id\": \"a\", \"intent\": \"i\", \"input_schema\": {\"type\": \"object\", "
            "\"properties\": {}}, \"extra\": 1}, {\"id\": \"a\", \"intent\": 5, \"input_schema\": {}}]}");
  auto r4 = load_policy_file(dir.write("fields.yaml", kHead + kTask + "macros_file: fields.json\n"));
  ASSERT_FALSE(r4.ok());
  EXPECT_THAT(r4.status().message(), HasSubstr("macros_file(fields.json).macros[0].extra: unknown key"));
  EXPECT_THAT(r4.status().message(),
              HasSubstr("macros_file(fields.json).macros[1].intent: expected a non-empty string"));
  EXPECT_THAT(r4.status().message(), HasSubstr("macros_file(fields.json).macros[1].id: duplicate macro id"));
  // Both sources at once.
  EXPECT_THAT(fail(kHead + kTask + kMacro + "macros_file: macros.json\n"),
              HasSubstr("macros_file: give one of macros, macros_file, macro_files"));
}

TEST(LoaderTest, AuditPathsResolveAgainstThePolicyFolder) {
  auto result =
      load(kHead + kTask + "audit:\n  jsonl: logs/audit.jsonl\n  store_raw_prompt: true\n  preview_chars: 80\n");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ((*result)->audit.jsonl_path, "/base/dir/logs/audit.jsonl");
  EXPECT_TRUE((*result)->audit.store_raw_prompt);
  EXPECT_EQ((*result)->audit.preview_chars, 80);
  EXPECT_FALSE((*result)->audit.fail_closed) << "on_failure defaults to open";
}

TEST(LoaderTest, AuditOnFailureAndHealthKeys) {
  auto result = load(kHead + kTask +
                     "audit:\n  on_failure: closed\nhealth:\n  failures_to_mark_down: 5\n"
                     "  cooldown_ms: 2500\n");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_TRUE((*result)->audit.fail_closed);
  EXPECT_EQ((*result)->health.failures_to_mark_down, 5);
  EXPECT_EQ((*result)->health.cooldown_ms, 2500);
  auto defaults = load(kHead + kTask);
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ((*defaults)->health.failures_to_mark_down, 3);
  EXPECT_EQ((*defaults)->health.cooldown_ms, 5000);
}

TEST(LoaderTest, SeveralErrorsAreAllReportedFirstCodeWins) {
  std::string yaml = kHead + kTask + "kill_switch: maybe\nshadow: 3\n";
  std::string msg = fail(yaml);
  EXPECT_THAT(msg, HasSubstr("policy.yaml:21: kill_switch:"));
  EXPECT_THAT(msg, HasSubstr("\npolicy.yaml:22: shadow:"));
}

TEST(LoaderTest, CapabilitiesAndFlags) {
  auto result = load(kHead + kTask +
                     "capabilities:\n  privacy_forces_local: false\n  max_context_tokens: 100\n  max_tool_chain: 0\n"
                     "kill_switch: true\nshadow: true\nescalate_unknown_tasks: true\n");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_FALSE((*result)->capabilities.privacy_forces_local);
  EXPECT_EQ((*result)->capabilities.max_context_tokens, 100);
  EXPECT_EQ((*result)->capabilities.max_tool_chain, 0);
  EXPECT_TRUE((*result)->kill_switch);
  EXPECT_TRUE((*result)->shadow);
  EXPECT_TRUE((*result)->escalate_unknown_tasks);
}

TEST(LoaderTest, ReduceAndChecksOptions) {
  const std::string summarize = R"(  summarize:
    kind: generate
    min_confidence: 0.2
    output_schema:
      type: object
      properties:
        errors: {type: array, items: {type: string}}
        summary: {type: string}
    reduce: {max_tokens: 300, context_lines: 1}
    checks: {grounded: [errors], min_chars: 10, max_chars: 400, max_copy_ratio: 0.5, confidence_quantile: 0.2}
)";
  auto result = load(kHead + kTask + summarize);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const TaskConfig* task = (*result)->find_task("summarize");
  ASSERT_NE(task, nullptr);
  ASSERT_TRUE(task->reduce.has_value());
  EXPECT_EQ(task->reduce->max_tokens, 300);
  EXPECT_EQ(task->reduce->context_lines, 1);
  EXPECT_EQ(task->reduce->tail_lines, 8);
  EXPECT_EQ(task->checks.grounded, std::vector<std::string>{"errors"});
  EXPECT_EQ(task->checks.min_chars, 10);
  EXPECT_EQ(task->checks.max_chars, 400);
  EXPECT_DOUBLE_EQ(task->checks.max_copy_ratio, 0.5);
  EXPECT_DOUBLE_EQ(task->checks.confidence_quantile, 0.2);
  EXPECT_FALSE((*result)->find_task("triage")->reduce.has_value());

  auto with = [&](const std::string& from, const std::string& to) {
    std::string yaml = kHead + kTask + summarize;
    yaml.replace(yaml.find(from), from.size(), to);
    return yaml;
  };
  EXPECT_THAT(fail(with("max_tokens: 300", "max_tokens: lots")),
              HasSubstr("tasks.summarize.reduce.max_tokens: expected an integer in [16, 1048576], got \"lots\""));
  EXPECT_THAT(fail(with("{max_tokens: 300, context_lines: 1}", "256")),
              HasSubstr("tasks.summarize.reduce: expected a mapping"));
  EXPECT_THAT(fail(with("context_lines: 1", "context: 1")), HasSubstr("tasks.summarize.reduce.context: unknown key"));
  EXPECT_THAT(
      fail(with("grounded: [errors]", "grounded: [files]")),
      HasSubstr("tasks.summarize.checks.grounded[0]: grounded field \"files\" is not a property of output_schema"));
  EXPECT_THAT(fail(with("max_copy_ratio: 0.5", "max_copy_ratio: 2")),
              HasSubstr("tasks.summarize.checks.max_copy_ratio: expected a number in [0, 1], got 2"));
  EXPECT_THAT(fail(with("max_chars: 400", "max_chars: 5")),
              HasSubstr("tasks.summarize.checks.max_chars: max_chars is below min_chars"));
  EXPECT_THAT(fail(kHead + kTask + "    checks: {min_chars: 1}\n"),
              HasSubstr("tasks.triage.checks: only generate tasks take checks"));
}

}  // namespace
}  // namespace ladder
