// The validator chain end to end on hand-built local answers (text + token logprobs).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "answers.h"
#include "ladder/reason.h"
#include "policy/hard_stops.h"
#include "validators/registry.h"

namespace ladder {
namespace {

using nlohmann::json;

using test_answers::generation;
using test_answers::label_answer;

GenerationResult text_only(std::string text) {
  GenerationResult g;
  g.text = std::move(text);
  return g;
}

const Validator& validator_named(std::string_view name) {
  for (const auto& v : validator_chain())
    if (v->name() == name) return *v;
  ADD_FAILURE() << "no validator " << name;
  return *validator_chain().front();
}

const ValidatorResult* result_named(const std::vector<ValidatorResult>& results, std::string_view name) {
  for (const auto& r : results)
    if (r.validator == name) return &r;
  return nullptr;
}

class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TaskConfig classify;
    classify.name = "classify_issue";
    classify.kind = TaskKind::kClassify;
    classify.labels = {"build", "test", "dependency", "security", "access", "unknown"};
    classify.escalate_labels = {"security", "access", "unknown"};
    classify.min_confidence = 0.6;
    config_.tasks["classify_issue"] = classify;

    TaskConfig route;
    route.name = "route_macro";
    route.kind = TaskKind::kRouteMacro;
    config_.tasks["route_macro"] = route;

    TaskConfig summarize;
    summarize.name = "summarize_log";
    summarize.kind = TaskKind::kGenerate;
    config_.tasks["summarize_log"] = summarize;

    std::ifstream in(LADDER_SOURCE_DIR "/eval/macros.json");
    ASSERT_TRUE(in.good());
    const json pack = json::parse(in);
    for (const auto& m : pack.at("macros")) {
      MacroConfig macro;
      macro.id = m.at("id").get<std::string>();
      macro.intent = m.at("intent").get<std::string>();
      macro.input_schema = m.at("input_schema");
      if (m.contains("irreversible_when")) macro.irreversible_when = m.at("irreversible_when");
      config_.macros.push_back(macro);
    }
    ASSERT_EQ(config_.macros.size(), 8u);

    config_.hard_stops.security = {{"cve", R"(\bCVE-\d{4}-\d+)"}};
    config_.hard_stops.access = {{"http_401_403", R"(\b(401|403)\b)"}};
    config_.hard_stops.production = {{"deploy", R"(\bdeploy(s|ed|ing)?\b)"}};
    auto scanner = HardStopScanner::create(config_.hard_stops);
    ASSERT_TRUE(scanner.ok()) << scanner.status().to_string();
    scanner_ = std::move(scanner.value());

    classify_schema_ = {{"type", "object"},
                        {"additionalProperties", false},
                        {"required", {"label"}},
                        {"properties", {{"label", {{"type", "string"}}}}}};
    route_schema_ = {{"type", "object"},
                     {"required", {"macro", "args"}},
                     {"properties", {{"macro", {{"type", "string"}}}, {"args", {{"type", "object"}}}}}};
  }

  ValidationContext context(const std::string& task, const GenerationResult& g, std::string_view input) {
    ValidationContext ctx;
    ctx.config = &config_;
    ctx.task = config_.find_task(task);
    ctx.input = input;
    ctx.generation = &g;
    ctx.schema = task == "classify_issue" ? &classify_schema_ : task == "route_macro" ? &route_schema_ : nullptr;
    ctx.scanner = scanner_.get();
    return ctx;
  }

  Config config_;
  std::unique_ptr<HardStopScanner> scanner_;
  json classify_schema_;
  json route_schema_;
};

TEST_F(ChainTest, RegistryOrderIsFixed) {
  std::vector<std::string> names;
  for (const auto& v : validator_chain()) names.emplace_back(v->name());
  EXPECT_EQ(names, (std::vector<std::string>{"parse", "json_schema", "labels", "escalate_labels", "evidence",
                                             "confidence", "grounding", "pairing", "number_binding", "quotes_grounded",
                                             "answer_length", "verbatim_copy", "hard_stop_answer"}));
}

TEST_F(ChainTest, GoodClassifyAnswerPassesEverything) {
  auto g = label_answer("build", 0.92);
  auto ctx = context("classify_issue", g, "error: undefined reference to `main'");
  auto results = run_validators(ctx);
  for (const auto& r : results) EXPECT_TRUE(r.passed) << r.validator << ": " << r.detail;
  EXPECT_EQ(results.size(), 6u);  // everything but grounding (classify)
  EXPECT_FALSE(first_failure_reason(results).has_value());
  ASSERT_TRUE(ctx.answer.has_value());
  EXPECT_EQ(ctx.answer->at("label"), "build");
  ASSERT_TRUE(ctx.confidence.has_value());
  EXPECT_NEAR(*ctx.confidence, 0.92, 1e-9);
}

TEST_F(ChainTest, MalformedJsonStopsTheChain) {
  auto g = text_only("{\"label\": \"build\"");
  auto ctx = context("classify_issue", g, "x");
  auto results = run_validators(ctx);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].validator, "parse");
  EXPECT_FALSE(results[0].passed);
  EXPECT_EQ(results[0].reason, Reason::kSchemaInvalid);
  EXPECT_FALSE(ctx.answer.has_value());
  EXPECT_EQ(first_failure_reason(results), Reason::kSchemaInvalid);
}

TEST_F(ChainTest, JsonThatIsNotAnObjectFailsParse) {
  for (const char* text : {"[\"build\"]", "\"build\"", "42", "null"}) {
    auto g = text_only(text);
    auto ctx = context("classify_issue", g, "x");
    auto r = validator_named("parse").validate(ctx);
    EXPECT_FALSE(r.passed) << text;
    EXPECT_EQ(r.reason, Reason::kSchemaInvalid) << text;
    EXPECT_NE(r.detail.find("not an object"), std::string::npos) << r.detail;
  }
}

TEST_F(ChainTest, WrongTypeFailsSchema) {
  auto g = text_only("{\"label\": 3}");
  auto ctx = context("classify_issue", g, "x");
  auto results = run_validators(ctx);
  const auto* schema = result_named(results, "json_schema");
  ASSERT_NE(schema, nullptr);
  EXPECT_FALSE(schema->passed);
  EXPECT_EQ(schema->reason, Reason::kSchemaInvalid);
  const auto* labels = result_named(results, "labels");
  ASSERT_NE(labels, nullptr);
  EXPECT_FALSE(labels->passed);
  EXPECT_EQ(first_failure_reason(results), Reason::kSchemaInvalid);
}

TEST_F(ChainTest, LabelNotAllowed) {
  auto g = label_answer("docs", 0.99);
  auto ctx = context("classify_issue", g, "x");
  auto results = run_validators(ctx);
  const auto* labels = result_named(results, "labels");
  ASSERT_NE(labels, nullptr);
  EXPECT_FALSE(labels->passed);
  EXPECT_EQ(labels->reason, Reason::kSchemaInvalid);
  EXPECT_NE(labels->detail.find("docs"), std::string::npos);
  EXPECT_TRUE(result_named(results, "json_schema")->passed);  // the schema alone allows any string
}

TEST_F(ChainTest, EscalateLabel) {
  auto g = label_answer("security", 0.99);
  auto ctx = context("classify_issue", g, "npm audit found 3 vulnerabilities");
  auto results = run_validators(ctx);
  const auto* esc = result_named(results, "escalate_labels");
  ASSERT_NE(esc, nullptr);
  EXPECT_FALSE(esc->passed);
  EXPECT_EQ(esc->reason, Reason::kLabelEscalates);
  EXPECT_TRUE(result_named(results, "labels")->passed);
  EXPECT_EQ(first_failure_reason(results), Reason::kLabelEscalates);

  auto ok = label_answer("test", 0.99);
  auto ctx2 = context("classify_issue", ok, "x");
  auto results2 = run_validators(ctx2);
  ASSERT_NE(result_named(results2, "escalate_labels"), nullptr);
  EXPECT_TRUE(result_named(results2, "escalate_labels")->passed);
}

TEST_F(ChainTest, ConfidenceBelowThreshold) {
  auto g = label_answer("test", 0.35);
  auto ctx = context("classify_issue", g, "x");
  auto results = run_validators(ctx);
  const auto* conf = result_named(results, "confidence");
  ASSERT_NE(conf, nullptr);
  EXPECT_FALSE(conf->passed);
  EXPECT_EQ(conf->reason, Reason::kConfidenceLow);
  EXPECT_NE(conf->detail.find("0.350"), std::string::npos) << conf->detail;
  EXPECT_EQ(first_failure_reason(results), Reason::kConfidenceLow);
}

TEST_F(ChainTest, ConfidenceMissingLogprobsFailsWhenThresholdSet) {
  auto g = text_only("{\"label\": \"test\"}");
  auto ctx = context("classify_issue", g, "x");
  auto results = run_validators(ctx);
  const auto* conf = result_named(results, "confidence");
  ASSERT_NE(conf, nullptr);
  EXPECT_FALSE(conf->passed);
  EXPECT_EQ(conf->reason, Reason::kConfidenceLow);
  EXPECT_NE(conf->detail.find("logprobs were unavailable"), std::string::npos) << conf->detail;
}

TEST_F(ChainTest, ConfidenceMissingLogprobsPassesWithoutThreshold) {
  config_.tasks["classify_issue"].min_confidence = 0.0;
  auto g = text_only("{\"label\": \"test\"}");
  auto ctx = context("classify_issue", g, "x");
  auto results = run_validators(ctx);
  EXPECT_TRUE(result_named(results, "confidence")->passed);
  EXPECT_FALSE(first_failure_reason(results).has_value());
}

TEST_F(ChainTest, PresetConfidenceIsUsed) {
  auto g = text_only("{\"label\": \"test\"}");
  auto ctx = context("classify_issue", g, "x");
  ctx.confidence = 0.59;
  ctx.answer = json{{"label", "test"}};
  auto low = validator_named("confidence").validate(ctx);
  EXPECT_FALSE(low.passed);
  ctx.confidence = 0.6;
  EXPECT_TRUE(validator_named("confidence").validate(ctx).passed);
}

TEST_F(ChainTest, RouteMacroGroundedPasses) {
  auto g = text_only(
      R"({"macro": "repo_triage_v1", "args": {"repositoryOwner": "acme", "repositoryName": "checkout", "prCount": 3, "labelStrategy": "conventional"}})");
  auto ctx =
      context("route_macro", g, "Check the last 3 PRs in acme/checkout and label them with conventional commits");
  auto results = run_validators(ctx);
  for (const auto& r : results) EXPECT_TRUE(r.passed) << r.validator << ": " << r.detail;
  ASSERT_NE(ctx.macro, nullptr);
  EXPECT_EQ(ctx.macro->id, "repo_triage_v1");
  ASSERT_NE(result_named(results, "grounding"), nullptr);
}

TEST_F(ChainTest, RouteMacroSwappedOwnerAndRepoBreakThePairing) {
  auto g = text_only(R"({"macro": "stale_sweep_v1", "args": {"owner": "undici", "repo": "nodejs"}})");
  auto ctx = context("route_macro", g, "label stale issues in nodejs/undici");
  auto results = run_validators(ctx);
  const auto* grounding = result_named(results, "grounding");
  ASSERT_NE(grounding, nullptr);
  EXPECT_TRUE(grounding->passed) << "both values do occur in the input";
  const auto* pairing = result_named(results, "pairing");
  ASSERT_NE(pairing, nullptr);
  EXPECT_FALSE(pairing->passed);
  EXPECT_EQ(pairing->reason, Reason::kArgsUngrounded);
  EXPECT_NE(pairing->detail.find("nodejs/undici"), std::string::npos) << pairing->detail;
}

TEST_F(ChainTest, RouteMacroValueCutFromAPathBreaksThePairing) {
  auto cut = text_only(
      R"({"macro": "ci_failure_summary_v1", "args": {"owner": "pallets", "repo": "flask", "branch": "2.x"}})");
  auto ctx = context("route_macro", cut, "what broke on the release/2.x branch of pallets/flask?");
  auto results = run_validators(ctx);
  const auto* pairing = result_named(results, "pairing");
  ASSERT_NE(pairing, nullptr);
  EXPECT_FALSE(pairing->passed) << "branch is the whole release/2.x";

  auto whole = text_only(
      R"({"macro": "ci_failure_summary_v1", "args": {"owner": "pallets", "repo": "flask", "branch": "release/2.x"}})");
  auto ok_ctx = context("route_macro", whole, "what broke on the release/2.x branch of pallets/flask?");
  auto ok_results = run_validators(ok_ctx);
  const auto* ok = result_named(ok_results, "pairing");
  ASSERT_NE(ok, nullptr);
  EXPECT_TRUE(ok->passed) << ok->detail;
}

TEST_F(ChainTest, RouteMacroMismatchedOwnerForRepoBreaksThePairing) {
  auto g = text_only(
      R"({"macro": "release_notes_v1", "args": {"owner": "axum", "repo": "axum", "fromTag": "v1", "toTag": "v2"}})");
  auto ctx = context("route_macro", g, "release notes for tokio-rs/axum from v1 to v2");
  auto results = run_validators(ctx);
  const auto* pairing = result_named(results, "pairing");
  ASSERT_NE(pairing, nullptr);
  EXPECT_FALSE(pairing->passed);
}

TEST_F(ChainTest, PairingLeavesUnpairedNeighboursAndRepeatedOwnersAlone) {
  auto g = text_only(
      R"({"macro": "ci_failure_summary_v1", "args": {"owner": "acme", "repo": "checkout", "branch": "main"}})");
  auto ctx = context("route_macro", g, "Summarize why CI is failing on main in acme/checkout");
  auto results = run_validators(ctx);
  const auto* pairing = result_named(results, "pairing");
  ASSERT_NE(pairing, nullptr);
  EXPECT_TRUE(pairing->passed) << pairing->detail;

  auto two = text_only(R"({"macro": "dependency_audit_v1", "args": {"owner": "acme", "repo": "api"}})");
  auto ctx2 = context("route_macro", two, "compare acme/web with acme/api and audit the dependencies of acme/api");
  auto results2 = run_validators(ctx2);
  const auto* pairing2 = result_named(results2, "pairing");
  ASSERT_NE(pairing2, nullptr);
  EXPECT_TRUE(pairing2->passed) << pairing2->detail;
}

TEST_F(ChainTest, OneWordOfTheInputIsNotTwoArguments) {
  auto g = text_only(R"({"macro": "ci_failure_summary_v1", "args": {"owner": "CI", "repo": "CI", "branch": "main"}})");
  auto ctx = context("route_macro", g, "why is CI failing?");
  auto results = run_validators(ctx);
  const auto* grounding = result_named(results, "grounding");
  ASSERT_NE(grounding, nullptr);
  EXPECT_TRUE(grounding->passed) << "\"CI\" does occur in the input";
  const auto* pairing = result_named(results, "pairing");
  ASSERT_NE(pairing, nullptr);
  EXPECT_FALSE(pairing->passed);
  EXPECT_EQ(pairing->reason, Reason::kArgsUngrounded);
  EXPECT_NE(pairing->detail.find("owner and repo all read \"CI\""), std::string::npos) << pairing->detail;

  // Written twice, as a repository named after its owner: fine.
  auto same = text_only(R"({"macro": "dependency_audit_v1", "args": {"owner": "numpy", "repo": "numpy"}})");
  auto ok_ctx = context("route_macro", same, "audit the dependencies of numpy/numpy");
  const auto* ok = result_named(run_validators(ok_ctx), "pairing");
  ASSERT_NE(ok, nullptr);
  EXPECT_TRUE(ok->passed) << ok->detail;
}

TEST_F(ChainTest, TheNounOfAnIntegerArgumentIsNotANameArgument) {
  auto g = text_only(R"({"macro": "issue_label_v1", "args": {"owner": "acme", "repo": "issue", "issueNumber": 318}})");
  auto ctx = context("route_macro", g, "label issue 318 in acme");
  auto results = run_validators(ctx);
  const auto* binding = result_named(results, "number_binding");
  ASSERT_NE(binding, nullptr);
  EXPECT_FALSE(binding->passed);
  EXPECT_NE(binding->detail.find("repo=\"issue\" is the word that introduces issueNumber"), std::string::npos)
      << binding->detail;
}

TEST_F(ChainTest, RouteMacroNumberOfAnotherArgumentBreaksTheBinding) {
  const std::string_view in = "find 3 reviewers for pull request 1290 on rust-lang/rustfmt";
  auto g = text_only(
      R"({"macro": "assign_reviewers_v1", "args": {"owner": "rust-lang", "repo": "rustfmt", "prNumber": 3, "reviewerCount": 3}})");
  auto ctx = context("route_macro", g, in);
  auto results = run_validators(ctx);
  const auto* grounding = result_named(results, "grounding");
  ASSERT_NE(grounding, nullptr);
  EXPECT_TRUE(grounding->passed) << "3 does occur in the input";
  const auto* binding = result_named(results, "number_binding");
  ASSERT_NE(binding, nullptr);
  EXPECT_FALSE(binding->passed);
  EXPECT_EQ(binding->reason, Reason::kArgsUngrounded);
  EXPECT_NE(binding->detail.find("pull request 1290"), std::string::npos) << binding->detail;
  EXPECT_EQ(first_failure_reason(results), Reason::kArgsUngrounded);

  auto right = text_only(
      R"({"macro": "assign_reviewers_v1", "args": {"owner": "rust-lang", "repo": "rustfmt", "prNumber": 1290, "reviewerCount": 3}})");
  auto ok_ctx = context("route_macro", right, in);
  auto ok_results = run_validators(ok_ctx);
  for (const auto& r : ok_results) EXPECT_TRUE(r.passed) << r.validator << ": " << r.detail;
  ASSERT_NE(result_named(ok_results, "number_binding"), nullptr);
}

TEST_F(ChainTest, RouteMacroStatedCountDroppedForTheDefaultBreaksTheBinding) {
  const std::string_view in = "CI on the develop branch of acme/mobile keeps going red, summarize the last 2 runs";
  // runCount omitted: its default (1) is applied, and the input asks for 2.
  auto omitted = text_only(
      R"({"macro": "ci_failure_summary_v1", "args": {"owner": "acme", "repo": "mobile", "branch": "develop"}})");
  auto ctx = context("route_macro", omitted, in);
  auto results = run_validators(ctx);
  const auto* binding = result_named(results, "number_binding");
  ASSERT_NE(binding, nullptr);
  EXPECT_FALSE(binding->passed);
  EXPECT_NE(binding->detail.find("runCount=1"), std::string::npos) << binding->detail;
  EXPECT_NE(binding->detail.find("2 runs"), std::string::npos) << binding->detail;

  auto stated = text_only(
      R"({"macro": "ci_failure_summary_v1", "args": {"owner": "acme", "repo": "mobile", "branch": "develop", "runCount": 2}})");
  auto ok_ctx = context("route_macro", stated, in);
  const auto* ok = result_named(run_validators(ok_ctx), "number_binding");
  ASSERT_NE(ok, nullptr);
  EXPECT_TRUE(ok->passed) << ok->detail;
}

TEST_F(ChainTest, NumberBindingLeavesUnboundDefaultsAndNumberWordsAlone) {
  // No count of reviewers is written beside its noun: the default stands.
  auto g = text_only(
      R"({"macro": "assign_reviewers_v1", "args": {"owner": "acme", "repo": "mobile", "prNumber": 221, "reviewerCount": 2}})");
  auto ctx = context("route_macro", g, "get two people to review PR 221 in acme/mobile");
  const auto* binding = result_named(run_validators(ctx), "number_binding");
  ASSERT_NE(binding, nullptr);
  EXPECT_TRUE(binding->passed) << binding->detail;

  auto words = text_only(
      R"({"macro": "assign_reviewers_v1", "args": {"owner": "acme", "repo": "api", "prNumber": 482, "reviewerCount": 2}})");
  auto ctx2 = context("route_macro", words, "Assign two reviewers to PR #482 in acme/api");
  const auto* binding2 = result_named(run_validators(ctx2), "number_binding");
  ASSERT_NE(binding2, nullptr);
  EXPECT_TRUE(binding2->passed) << binding2->detail;
}

TEST_F(ChainTest, RouteMacroHallucinatedOwnerIsUngrounded) {
  auto g =
      text_only(R"({"macro": "issue_label_v1", "args": {"owner": "octo-org", "repo": "infra", "issueNumber": 482}})");
  auto ctx = context("route_macro", g, "Please label issue #482 in the infra repo");
  auto results = run_validators(ctx);
  const auto* grounding = result_named(results, "grounding");
  ASSERT_NE(grounding, nullptr);
  EXPECT_FALSE(grounding->passed);
  EXPECT_EQ(grounding->reason, Reason::kArgsUngrounded);
  EXPECT_NE(grounding->detail.find("owner"), std::string::npos);
  EXPECT_EQ(grounding->detail.find("issueNumber"), std::string::npos) << grounding->detail;
  EXPECT_EQ(first_failure_reason(results), Reason::kArgsUngrounded);
}

TEST_F(ChainTest, RouteMacroArgsCheckedAgainstMacroSchema) {
  auto g = text_only(
      R"({"macro": "repo_triage_v1", "args": {"repositoryOwner": "acme", "repositoryName": "checkout", "prCount": 80}})");
  auto ctx = context("route_macro", g, "triage the last 80 PRs of acme/checkout");
  auto results = run_validators(ctx);
  const auto* schema = result_named(results, "json_schema");
  ASSERT_NE(schema, nullptr);
  EXPECT_FALSE(schema->passed);
  EXPECT_NE(schema->detail.find("prCount"), std::string::npos) << schema->detail;
}

TEST_F(ChainTest, IrreversibleMacroValueIsAHardStop) {
  auto g = text_only(
      R"({"macro": "stale_sweep_v1", "args": {"owner": "acme", "repo": "web", "days": 30, "action": "close"}})");
  auto ctx = context("route_macro", g, "close issues in acme/web with no activity for 30 days");
  auto results = run_validators(ctx);
  const auto* stop = result_named(results, "hard_stop_answer");
  ASSERT_NE(stop, nullptr);
  EXPECT_FALSE(stop->passed);
  EXPECT_EQ(stop->reason, Reason::kHardStopProduction);
  ASSERT_TRUE(ctx.hard_stop.has_value());
  EXPECT_EQ(ctx.hard_stop->rule_id, "irreversible:stale_sweep_v1.action");
  EXPECT_EQ(ctx.hard_stop->category, "production");
  EXPECT_EQ(ctx.hard_stop->where, "args");
  EXPECT_EQ(first_failure_reason(results), Reason::kHardStopProduction);
}

TEST_F(ChainTest, ReversibleMacroValuePasses) {
  auto g = text_only(R"({"macro": "stale_sweep_v1", "args": {"owner": "acme", "repo": "web", "days": 30}})");
  auto ctx = context("route_macro", g, "label issues in acme/web stale after 30 days");
  auto results = run_validators(ctx);
  for (const auto& r : results) EXPECT_TRUE(r.passed) << r.validator << ": " << r.detail;
  EXPECT_FALSE(ctx.hard_stop.has_value());
}

TEST_F(ChainTest, HardStopInAnswerText) {
  auto g = text_only(R"({"summary": "the build failed; patch CVE-2024-3094 first"})");
  auto ctx = context("summarize_log", g, "build log ...");
  auto results = run_validators(ctx);
  const auto* stop = result_named(results, "hard_stop_answer");
  ASSERT_NE(stop, nullptr);
  EXPECT_FALSE(stop->passed);
  EXPECT_EQ(stop->reason, Reason::kHardStopSecurity);
  ASSERT_TRUE(ctx.hard_stop.has_value());
  EXPECT_EQ(ctx.hard_stop->where, "answer");
  EXPECT_EQ(ctx.hard_stop->rule_id, "cve");
}

TEST_F(ChainTest, NoAnswerScanWhenTaskDisablesIt) {
  config_.tasks["summarize_log"].scan_answer = false;
  auto g = text_only(R"({"summary": "then deploy it"})");
  auto ctx = context("summarize_log", g, "x");
  auto results = run_validators(ctx);
  EXPECT_EQ(result_named(results, "hard_stop_answer"), nullptr);
  EXPECT_FALSE(ctx.hard_stop.has_value());
}

TEST_F(ChainTest, HardStopTakesPrecedenceOverEarlierFailures) {
  // Low confidence and an escalating label, but the answer also names a CVE.
  auto g = generation({{"{\"label\": \"", 0.0}, {"unknown", std::log(0.2)}, {"\", \"why\": \"CVE-2023-1234\"}", 0.0}});
  classify_schema_["additionalProperties"] = true;
  auto ctx = context("classify_issue", g, "x");
  auto results = run_validators(ctx);
  EXPECT_EQ(first_failure_reason(results), Reason::kHardStopSecurity);
}

// The router's form: the answer is the args object itself, ctx.schema is the macro's
// input schema, ctx.macro and the macro-choice confidence are set before the chain runs.
TEST_F(ChainTest, RouterFormArgsObject) {
  const MacroConfig* macro = config_.find_macro("stale_sweep_v1");
  ASSERT_NE(macro, nullptr);
  auto g = text_only(R"({"owner": "acme", "repo": "web", "days": 45, "action": "close"})");
  auto ctx = context("route_macro", g, "close acme/web issues idle for forty five days");
  ctx.schema = &macro->input_schema;
  ctx.macro = macro;
  ctx.confidence = 0.97;
  auto results = run_validators(ctx);
  EXPECT_TRUE(result_named(results, "json_schema")->passed);
  EXPECT_TRUE(result_named(results, "grounding")->passed) << result_named(results, "grounding")->detail;
  EXPECT_EQ(first_failure_reason(results), Reason::kHardStopProduction);
  ASSERT_TRUE(ctx.hard_stop.has_value());
  EXPECT_EQ(ctx.hard_stop->rule_id, "irreversible:stale_sweep_v1.action");

  auto g2 = text_only(R"({"owner": "acme", "repo": "web", "days": 45, "extra": 1})");
  auto ctx2 = context("route_macro", g2, "label acme/web issues idle for 45 days");
  ctx2.schema = &macro->input_schema;
  ctx2.macro = macro;
  auto results2 = run_validators(ctx2);
  EXPECT_FALSE(result_named(results2, "json_schema")->passed);  // additionalProperties
  EXPECT_FALSE(result_named(results2, "grounding")->passed);    // "extra": 1 is not stated
  EXPECT_EQ(first_failure_reason(results2), Reason::kSchemaInvalid);
}

TEST_F(ChainTest, RouterFormUngroundedDays) {
  const MacroConfig* macro = config_.find_macro("stale_sweep_v1");
  auto g = text_only(R"({"owner": "acme", "repo": "web", "days": 30})");
  auto ctx = context("route_macro", g, "label stale issues in acme/web");
  ctx.schema = &macro->input_schema;
  ctx.macro = macro;
  auto results = run_validators(ctx);
  const auto* grounding = result_named(results, "grounding");
  ASSERT_NE(grounding, nullptr);
  EXPECT_FALSE(grounding->passed);
  EXPECT_NE(grounding->detail.find("days=30"), std::string::npos) << grounding->detail;
  // The default (60) is grounded even though the input never says it.
  auto g2 = text_only(R"({"owner": "acme", "repo": "web", "days": 60})");
  auto ctx2 = context("route_macro", g2, "label stale issues in acme/web");
  ctx2.schema = &macro->input_schema;
  ctx2.macro = macro;
  EXPECT_FALSE(first_failure_reason(run_validators(ctx2)).has_value());
}

}  // namespace
}  // namespace ladder
