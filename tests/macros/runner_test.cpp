// Step semantics, versions and approval, replayed from recorded exchanges (no network).
#include "macros/runner.h"

#include <gtest/gtest.h>

#include "config/macro_file.h"
#include "macros/fixtures.h"

namespace ladder::macros {
namespace {

using nlohmann::json;

const char* kTriage = R"(id: triage_v2
intent: label recent pull requests
input_schema:
  type: object
  additionalProperties: false
  required: [owner]
  properties:
    owner: {type: string}
    count: {type: integer, minimum: 1, default: 2}
    action: {type: string, enum: [label, close], default: label}
irreversible_when: {action: close}
secrets:
  token: {env: RUNNER_TEST_TOKEN}
hosts:
  api:
    base_url: http://api.test
    auth: {secret: token}
errors: [repo_not_found]
output_schema:
  type: object
  required: [labelled]
steps:
  - id: pulls
    http:
      host: api
      path: /repos/{{args.owner}}/pulls
      query: {per_page: "{{args.count}}"}
    on_status: {404: repo_not_found}
    retry: {attempts: 1}
  - id: conventional
    filter:
      over: {ref: /steps/pulls}
      as: pr
      where: {ref: /pr/title, matches: "^[a-z]+(\\(.*\\))?:"}
  - id: each
    foreach:
      over: {ref: /steps/conventional}
      as: pr
      parallelism: 3
      steps:
        - id: kind
          native: {handler: conventional_commit, input: {title: "{{pr.title}}"}}
        - id: area
          classify: {task: classify_issue, input: "{{pr.title}}"}
        - id: label
          when: {ref: /args/action, equals: label}
          http:
            host: api
            method: POST
            path: /repos/{{args.owner}}/issues/{{pr.number}}/labels
            body: {labels: ["{{steps.kind.type}}"]}
        - id: close
          when: {ref: /args/action, equals: close}
          irreversible: true
          http:
            host: api
            method: PATCH
            path: /repos/{{args.owner}}/issues/{{pr.number}}
            body: {state: closed}
      result: {number: {ref: /pr/number}, type: {ref: /steps/kind/type}, area: {ref: /steps/area/label}}
  - id: numbers
    map:
      over: {ref: /steps/each}
      as: r
      to: {ref: /r/number}
  - id: done
    emit: {labelled: {ref: /steps/numbers}, details: {ref: /steps/each}}
)";

json pulls_exchange(const std::string& owner = "acme", int count = 2) {
  return {{"request", {{"method", "GET"}, {"url", "/repos/" + owner + "/pulls?per_page=" + std::to_string(count)}}},
          {"response",
           {{"status", 200},
            {"body", json::array({{{"number", 1}, {"title", "feat(ui): dark mode"}},
                                  {{"number", 2}, {"title", "Update README"}},
                                  {{"number", 3}, {"title", "fix: crash"}}})}}}};
}

json write_exchange(const std::string& method, const std::string& url, const json& body) {
  return {{"request", {{"method", method}, {"url", url}, {"body", body}}},
          {"response", {{"status", 200}, {"body", json::object()}}}};
}

struct Harness {
  std::shared_ptr<ReplayTransport> transport;
  std::vector<std::string> classified;
  std::mutex mu;
  Config config;
  std::unique_ptr<Runner> runner;

  Harness(json exchanges, std::vector<std::string> extra_macros = {}) {
    auto def = load_macro_yaml(kTriage, "triage_v2.yaml", "/tmp");
    EXPECT_TRUE(def.ok()) << def.status().message();
    if (def.ok()) config.macro_definitions.push_back(*def);
    for (const auto& text : extra_macros) {
      auto m = load_macro_yaml(text, "extra.yaml", "/tmp");
      EXPECT_TRUE(m.ok()) << m.status().message();
      if (m.ok()) config.macro_definitions.push_back(*m);
    }
    transport = std::make_shared<ReplayTransport>(std::move(exchanges));
    runner = std::make_unique<Runner>(
        transport, NativeRegistry::with_builtins(),
        [this](const std::string& task, const std::string& input) -> Result<json> {
          std::lock_guard<std::mutex> lock(mu);
          classified.push_back(task + ":" + input);
          return json{{"label", input.find("ui") != std::string::npos ? "feature" : "bug"}, {"route", "local"}};
        },
        [](const MacroSecret&) { return std::string("s3cret-value"); });
  }
  RunOutcome run(const std::string& id, const json& args, RunOptions options = {}) {
    options.now = "2026-11-01T00:00:00Z";
    return runner->run(config, id, args, options);
  }
};

TEST(Runner, RunsEveryStepKindInOrder) {
  Harness h(
      json::array({pulls_exchange(), write_exchange("POST", "/repos/acme/issues/1/labels", {{"labels", {"feat"}}}),
                   write_exchange("POST", "/repos/acme/issues/3/labels", {{"labels", {"fix"}}})}));
  RunOutcome o = h.run("triage_v2", {{"owner", "acme"}});
  ASSERT_EQ(o.status, "ok") << o.to_json().dump(2);
  EXPECT_EQ(o.args["count"], 2) << "defaults are applied";
  EXPECT_EQ(o.result["labelled"], json::array({1, 3}));
  EXPECT_EQ(o.result["details"][0], json({{"number", 1}, {"type", "feat"}, {"area", "feature"}}));
  EXPECT_EQ(o.result["details"][1], json({{"number", 3}, {"type", "fix"}, {"area", "bug"}}));
  EXPECT_TRUE(h.transport->problems().empty()) << h.transport->problems()[0];
  EXPECT_EQ(h.classified.size(), 2u);
  bool skipped_close = false;
  for (const auto& t : o.trace) skipped_close = skipped_close || (t.step == "each[0].close" && t.outcome == "skipped");
  EXPECT_TRUE(skipped_close);
}

TEST(Runner, IrreversibleStepsNeedApprovalAndNothingIsWrittenWithout) {
  Harness h(json::array({pulls_exchange()}));
  RunOutcome o = h.run("triage_v2", {{"owner", "acme"}, {"action", "close"}});
  EXPECT_EQ(o.status, "approval_required") << o.to_json().dump(2);
  EXPECT_FALSE(o.irreversible_steps.empty());
  int planned = 0;
  for (const auto& t : o.trace) {
    if (t.outcome == "planned") {
      ++planned;
      EXPECT_EQ(t.method, "PATCH");
      EXPECT_EQ(t.body, json({{"state", "closed"}}));
    }
  }
  EXPECT_EQ(planned, 2);
  EXPECT_TRUE(h.transport->problems().empty()) << "no write reached the transport";

  Harness approved(
      json::array({pulls_exchange(), write_exchange("PATCH", "/repos/acme/issues/1", {{"state", "closed"}}),
                   write_exchange("PATCH", "/repos/acme/issues/3", {{"state", "closed"}})}));
  RunOptions yes;
  yes.approve = true;
  RunOutcome done = approved.run("triage_v2", {{"owner", "acme"}, {"action", "close"}}, yes);
  EXPECT_EQ(done.status, "ok") << done.to_json().dump(2);
  EXPECT_TRUE(approved.transport->problems().empty());
}

TEST(Runner, ReversibleRunsDoNotAskForApproval) {
  Harness h(json::array({pulls_exchange()}));
  auto steps =
      Runner::irreversible_steps(*h.config.macro_definitions[0], {{"owner", "a"}, {"action", "label"}, {"count", 2}});
  EXPECT_TRUE(steps.empty());
  auto close =
      Runner::irreversible_steps(*h.config.macro_definitions[0], {{"owner", "a"}, {"action", "close"}, {"count", 2}});
  EXPECT_FALSE(close.empty());
}

TEST(Runner, DryRunSendsNoWrites) {
  Harness h(json::array({pulls_exchange()}));
  RunOptions dry;
  dry.dry_run = true;
  RunOutcome o = h.run("triage_v2", {{"owner", "acme"}}, dry);
  EXPECT_EQ(o.status, "dry_run");
  EXPECT_TRUE(h.transport->problems().empty());
}

TEST(Runner, UpstreamStatusMapsToTheDeclaredErrorState) {
  json ex = {{"request", {{"method", "GET"}, {"url", "/repos/ghost/pulls?per_page=2"}}},
             {"response", {{"status", 404}, {"body", {{"message", "Not Found"}}}}}};
  Harness h(json::array({ex}));
  RunOutcome o = h.run("triage_v2", {{"owner", "ghost"}});
  ASSERT_EQ(o.status, "error");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->step, "pulls");
  EXPECT_EQ(o.error->reason, "repo_not_found");
  EXPECT_EQ(o.error->http_status, 404);
  EXPECT_NE(o.error->message.find("Not Found"), std::string::npos);
}

TEST(Runner, ErrorsInsideForeachNameTheItem) {
  json fail = {{"request", {{"method", "POST"}, {"url", "/repos/acme/issues/3/labels"}}},
               {"response", {{"status", 422}, {"body", {{"message", "Validation Failed s3cret-value"}}}}}};
  Harness h(json::array(
      {pulls_exchange(), write_exchange("POST", "/repos/acme/issues/1/labels", {{"labels", {"feat"}}}), fail}));
  RunOutcome o = h.run("triage_v2", {{"owner", "acme"}});
  ASSERT_EQ(o.status, "error") << o.to_json().dump(2);
  EXPECT_EQ(o.error->step, "each[1].label");
  EXPECT_EQ(o.error->reason, "invalid_request");
  EXPECT_EQ(o.error->message.find("s3cret-value"), std::string::npos) << "secrets never appear in errors";
  EXPECT_NE(o.error->message.find("[secret:token]"), std::string::npos);
}

TEST(Runner, BadResponsesAreTypedErrors) {
  json garbage = {{"request", {{"method", "GET"}, {"url", "/repos/acme/pulls?per_page=2"}}},
                  {"response", {{"status", 200}, {"body", {{"raw", "{not json"}}}}}};
  Harness h(json::array({garbage}));
  RunOutcome o = h.run("triage_v2", {{"owner", "acme"}});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->reason, "bad_response");
  json not_list = {{"request", {{"method", "GET"}, {"url", "/repos/acme/pulls?per_page=2"}}},
                   {"response", {{"status", 200}, {"body", {{"message", "odd"}}}}}};
  Harness h2(json::array({not_list}));
  RunOutcome o2 = h2.run("triage_v2", {{"owner", "acme"}});
  ASSERT_TRUE(o2.error);
  EXPECT_EQ(o2.error->step, "conventional");
  EXPECT_EQ(o2.error->reason, "template_error");
}

TEST(Runner, InvalidArgumentsAreRejectedBeforeAnyCall) {
  Harness h(json::array());
  RunOutcome o = h.run("triage_v2", {{"owner", "acme"}, {"count", 0}});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->reason, "invalid_arguments");
  RunOutcome extra = h.run("triage_v2", {{"owner", "acme"}, {"colour", "red"}});
  EXPECT_EQ(extra.error->reason, "invalid_arguments");
  RunOutcome wrong_type = h.run("triage_v2", json::array());
  EXPECT_EQ(wrong_type.error->reason, "invalid_arguments");
  RunOutcome unknown = h.run("nothing_v1", json::object());
  EXPECT_EQ(unknown.error->reason, "unknown_macro");
}

const char* kRetired = R"(id: triage_v1
intent: old triage
status: retired
successor: triage_v2
migrate: {owner: {ref: /args/org}, count: {ref: /args/n}}
input_schema:
  type: object
  properties:
    org: {type: string}
    n: {type: integer, default: 2}
steps:
  - id: done
    emit: {}
)";

const char* kDeprecated = R"(id: hello_v1
intent: say hello
status: deprecated
successor: triage_v2
input_schema: {type: object, properties: {}}
steps:
  - id: done
    emit: {hello: "{{now}}"}
)";

const char* kOrphan = R"(id: gone_v1
intent: nothing
status: retired
input_schema: {type: object, properties: {}}
steps:
  - id: done
    emit: {}
)";

TEST(Runner, RetiredVersionsMoveToTheirSuccessorWithMigratedArguments) {
  Harness h(json::array({pulls_exchange("acme", 2),
                         write_exchange("POST", "/repos/acme/issues/1/labels", {{"labels", {"feat"}}}),
                         write_exchange("POST", "/repos/acme/issues/3/labels", {{"labels", {"fix"}}})}),
            {kRetired, kDeprecated, kOrphan});
  RunOutcome o = h.run("triage_v1", {{"org", "acme"}});
  EXPECT_EQ(o.status, "ok") << o.to_json().dump(2);
  EXPECT_EQ(o.requested, "triage_v1");
  EXPECT_EQ(o.macro, "triage_v2");
  EXPECT_EQ(o.args["owner"], "acme");
  ASSERT_EQ(o.warnings.size(), 1u);
  EXPECT_NE(o.warnings[0].find("retired"), std::string::npos);

  RunOutcome dep = h.run("hello_v1", json::object());
  EXPECT_EQ(dep.status, "ok");
  EXPECT_EQ(dep.macro, "hello_v1");
  ASSERT_EQ(dep.warnings.size(), 1u);
  EXPECT_NE(dep.warnings[0].find("deprecated"), std::string::npos);

  RunOutcome orphan = h.run("gone_v1", json::object());
  ASSERT_TRUE(orphan.error);
  EXPECT_EQ(orphan.error->reason, "macro_retired");

  RunOutcome bad_migration = h.run("triage_v1", {{"n", 2}});
  ASSERT_TRUE(bad_migration.error);
  EXPECT_EQ(bad_migration.error->reason, "macro_retired");
  EXPECT_NE(bad_migration.error->message.find("migrating"), std::string::npos);
}

TEST(Runner, RequiredSecretMissingFailsBeforeAnyCall) {
  std::string text = std::string(kTriage);
  text.replace(text.find("{env: RUNNER_TEST_TOKEN}"), 24, "{env: RUNNER_TEST_TOKEN, required: true}");
  auto def = load_macro_yaml(text, "t.yaml", "/tmp");
  ASSERT_TRUE(def.ok()) << def.status().message();
  Config config;
  config.macro_definitions.push_back(*def);
  auto transport = std::make_shared<ReplayTransport>(json::array());
  Runner runner(transport, NativeRegistry::with_builtins(), nullptr, [](const MacroSecret&) { return std::string(); });
  RunOutcome o = runner.run(config, "triage_v2", {{"owner", "a"}}, RunOptions{});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->reason, "secret_missing");
  EXPECT_TRUE(transport->problems().empty());
}

TEST(Runner, UnregisteredNativeHandlerIsAConfigError) {
  Harness h(json::array());
  Runner bare(nullptr, NativeRegistry(), nullptr);
  Status st = bare.check(h.config);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(st.message().find("triage_v2.yaml:"), std::string::npos);
  EXPECT_NE(st.message().find("conventional_commit"), std::string::npos);
  EXPECT_TRUE(h.runner->check(h.config).ok());
}

TEST(Fixtures, ReplayComparesResultAndReportsMismatches) {
  Harness h(json::array());
  RunOutcome ok;
  ok.status = "ok";
  ok.result = {{"a", 1}};
  EXPECT_TRUE(compare_expectation({{"status", "ok"}, {"result", {{"a", 1}}}}, ok, json::array()).empty());
  EXPECT_EQ(compare_expectation({{"status", "ok"}, {"result", {{"a", 2}}}}, ok, json::array()).size(), 1u);
  EXPECT_EQ(compare_expectation({{"status", "error"}, {"error", {{"reason", "x"}}}}, ok, json::array()).size(), 2u);
  EXPECT_EQ(compare_expectation({{"status", "ok"}, {"writes", json::array({{{"method", "POST"}}})}}, ok, json::array())
                .size(),
            1u);
}

}  // namespace
}  // namespace ladder::macros
