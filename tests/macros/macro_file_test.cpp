#include "config/macro_file.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace ladder {
namespace {

const char* kGood = R"(id: triage_v2
intent: label recent pull requests
status: deprecated
successor: triage_v3
input_schema:
  type: object
  required: [owner]
  properties:
    owner: {type: string}
    count: {type: integer, default: 2}
secrets:
  token: {env: TEST_TOKEN}
hosts:
  api:
    base_url: https://api.example.com
    base_url_env: TEST_API_URL
    headers: {Accept: application/json}
    auth: {secret: token}
    circuit_breaker: {failures: 3, open_ms: 1000}
errors: [repo_not_found]
steps:
  - id: pulls
    http:
      host: api
      path: /repos/{{args.owner}}/pulls
      query: {per_page: "{{args.count}}"}
      paginate: {max_items: {ref: /args/count}}
      pick: /items
    on_status: {404: repo_not_found, 410: {result: []}}
    retry: {attempts: 2, backoff_ms: 10}
  - id: each
    foreach:
      over: {ref: /steps/pulls}
      as: pr
      parallelism: 2
      steps:
        - id: kind
          native: {handler: conventional_commit, input: {title: "{{pr.title}}"}}
  - id: done
    emit: {count: {ref: /args/count}, kinds: {ref: /steps/each}}
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

Status load(const std::string& yaml) {
  auto r = load_macro_yaml(yaml, "m.yaml", "/tmp");
  return r.ok() ? Status() : r.status();
}

void expect_error(const std::string& yaml, const std::string& needle, ErrorCode code = ErrorCode::kConfigInvalid) {
  Status st = load(yaml);
  ASSERT_FALSE(st.ok()) << "expected an error containing " << needle;
  EXPECT_EQ(st.code(), code) << st.message();
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("m.yaml:"), std::string::npos) << "errors name the file: " << st.message();
}

TEST(MacroFile, LoadsAWellFormedMacro) {
  auto r = load_macro_yaml(kGood, "m.yaml", "/tmp");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const MacroDefinition& m = **r;
  EXPECT_EQ(m.id, "triage_v2");
  EXPECT_EQ(m.family, "triage");
  EXPECT_EQ(m.version, 2);
  EXPECT_EQ(m.status, MacroStatus::kDeprecated);
  EXPECT_EQ(m.successor, "triage_v3");
  ASSERT_EQ(m.hosts.size(), 1u);
  EXPECT_EQ(m.hosts[0].auth_secret, "token");
  EXPECT_EQ(m.hosts[0].breaker_failures, 3);
  ASSERT_EQ(m.steps.size(), 3u);
  EXPECT_EQ(m.steps[0].kind, MacroStep::Kind::kHttp);
  EXPECT_EQ(m.steps[0].max_pages, 10);
  EXPECT_EQ(m.steps[0].retry.attempts, 2);
  EXPECT_EQ(m.steps[0].on_status.at(404), "repo_not_found");
  EXPECT_TRUE(m.steps[0].on_status.at(410).is_object());
  EXPECT_EQ(m.steps[1].kind, MacroStep::Kind::kForeach);
  EXPECT_EQ(m.steps[1].parallelism, 2);
  EXPECT_EQ(m.steps[1].steps.at(0).handler, "conventional_commit");
  EXPECT_EQ(m.steps[2].kind, MacroStep::Kind::kEmit);
}

TEST(MacroFile, MalformedYamlAndInvalidUtf8AreParseErrors) {
  expect_error("id: [unclosed\n", "malformed YAML", ErrorCode::kParseError);
  expect_error(std::string("id: x\xff\n"), "invalid UTF-8", ErrorCode::kParseError);
  expect_error("", "empty");
}

TEST(MacroFile, ErrorsNameLineAndPath) {
  Status st = load(with(kGood, "      parallelism: 2", "      parallelism: many"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("m.yaml:35: steps[1].foreach.parallelism"), std::string::npos) << st.message();
}

// irreversible_when is checked against the input schema's properties (the check is shared
// with a policy's inline macros). After an input schema that is not a mapping, only that is
// reported, and the load does not throw (fuzz/regressions/macro_yaml).
TEST(MacroFile, IrreversibleWhenIsCheckedAgainstTheInputSchema) {
  const std::string head = "id: sweep_v1\nintent: close quiet issues\n";
  const std::string tail = "irreversible_when: {owner: x}\nsteps:\n  - id: done\n    emit: {ok: true}\n";
  expect_error(head + "input_schema: 3\n" + tail, "m.yaml:3: input_schema: expected a mapping (a JSON Schema), got 3");
  expect_error(head + "input_schema: {type: object, properties: {}}\n" + tail,
               "m.yaml:4: irreversible_when.owner: argument \"owner\" is not among the input_schema properties");
  expect_error(head + "input_schema: {type: object, properties: {owner: {type: string}}}\n" +
                   "irreversible_when: {owner: [x]}\nsteps:\n  - id: done\n    emit: {ok: true}\n",
               "m.yaml:4: irreversible_when.owner: expected a scalar value");
  expect_error(head + "input_schema: {type: array}\n" + tail,
               "m.yaml:3: input_schema.type: a macro's input schema must have type: object");
}

TEST(MacroFile, RejectsBadShapes) {
  expect_error(with(kGood, "id: triage_v2", "id: Triage"), "<name>_v<version>");
  expect_error(with(kGood, "intent: label", "intnet: label"), "intnet");
  expect_error(with(kGood, "status: deprecated", "status: old"), "active, deprecated, retired");
  expect_error(with(kGood, "host: api", "host: other"), "unknown host");
  expect_error(with(kGood, "auth: {secret: token}", "auth: {secret: nope}"), "unknown secret");
  expect_error(with(kGood, "404: repo_not_found", "404: gone_missing"), "not declared under errors");
  expect_error(with(kGood, "404: repo_not_found", "99: repo_not_found"), "HTTP status code");
  expect_error(with(kGood, "path: /repos/{{args.owner}}/pulls", "path: repos"), "starts with /");
  expect_error(with(kGood, "path: /repos/{{args.owner}}/pulls", "path: /repos?x=1"), "query");
  expect_error(with(kGood, "path: /repos/{{args.owner}}/pulls", "path: /repos/{{#args}}"), "template");
  expect_error(with(kGood, "pick: /items", "pick: items"), "JSON Pointer");
  expect_error(with(kGood, "over: {ref: /steps/pulls}", "over: {ref: steps}"), "JSON Pointer");
  expect_error(with(kGood, "base_url: https://api.example.com", "base_url: ftp://x"), "http:// or https://");
  expect_error(with(kGood, "base_url: https://api.example.com", "base_url: https://u:p@x"), "credentials");
  expect_error(with(kGood, "  - id: done\n    emit:", "  - id: pulls\n    emit:"), "duplicate step id");
  expect_error(with(kGood, "    emit: {count", "    map: {count"), "last step must be emit");
  expect_error(with(kGood, "      as: pr\n", "      as: args\n"), "other than args");
  expect_error(with(kGood, "    retry: {attempts: 2, backoff_ms: 10}", "    retry: {attempts: 0}"), "attempts");
  expect_error(with(kGood, "input_schema:\n  type: object", "input_schema:\n  type: array"), "type: object");
  expect_error(with(kGood, "  token: {env: TEST_TOKEN}", "  token: {}"), "needs env or file");
  expect_error(with(kGood, "errors: [repo_not_found]", "errors: [repo_not_found]\nreplaces: github.list_pulls"),
               "replaces");
  expect_error(with(kGood, "errors: [repo_not_found]", "errors: [repo_not_found]\nreplaces: []"),
               "at least one tool name");
}

TEST(MacroFile, StepNeedsExactlyOneKind) {
  expect_error(with(kGood, "  - id: done\n    emit:", "  - id: done\n    description: x\n    xemit:"), "xemit");
  expect_error(with(kGood, "    emit: {count: {ref: /args/count}, kinds: {ref: /steps/each}}",
                    "    emit: 1\n    native: {handler: x}"),
               "exactly one");
}

TEST(MacroFile, PredicatesAreCheckedAtLoad) {
  std::string bad = with(kGood, "  - id: done\n",
                         "  - id: keep\n    filter:\n      over: []\n      where: {ref: /x, equal: 1}\n  - id: done\n");
  expect_error(bad, "unknown operator equal");
  std::string bad_re =
      with(kGood, "  - id: done\n", "  - id: keep\n    when: {ref: /x, matches: \"(\"}\n    emit: 1\n  - id: done\n");
  expect_error(bad_re, "regular expression");
}

TEST(MacroFile, FixtureFileProblemsNameTheFile) {
  expect_error(std::string(kGood) + "fixtures:\n  - file: nowhere.json\n", "nowhere.json", ErrorCode::kNotFound);
  std::string inline_bad =
      std::string(kGood) + "fixtures:\n  - name: a\n    args: {owner: x}\n    expect: {status: fine}\n";
  expect_error(inline_bad, "ok, approval_required, error");
  std::string no_expect = std::string(kGood) + "fixtures:\n  - name: a\n    args: {owner: x}\n";
  expect_error(no_expect, "expect");
  std::string bad_now =
      std::string(kGood) + "fixtures:\n  - name: a\n    now: tomorrow\n    args: {}\n    expect: {status: ok}\n";
  expect_error(bad_now, "RFC 3339");
}

TEST(MacroFile, MissingFileIsNotFound) {
  auto r = load_macro_file("/nonexistent/macro.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace ladder
