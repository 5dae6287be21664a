#include "audit/record.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "audit/redact.h"
#include "audit/seal.h"
#include "ladder/utf8.h"

namespace ladder {
namespace {

using nlohmann::json;

Decision sample_decision() {
  Decision d;
  d.request_id = "req-1";
  d.task = "classify_issue";
  d.route = "frontier";
  d.reason = Reason::kConfidenceLow;
  d.reason_detail = "confidence 0.41 < min_confidence 0.70";
  d.answer_text = "{\"label\": \"test\"}";
  d.local_answer_text = "{\"label\": \"build\"}";
  d.local_ran = true;
  d.local_json_valid = true;
  d.label = "test";
  d.confidence = 0.41;
  d.validators.push_back({"parse", true, std::nullopt, ""});
  d.validators.push_back({"confidence", false, Reason::kConfidenceLow, "confidence 0.410 < min_confidence 0.700"});
  TierAttempt local;
  local.tier = 0;
  local.tier_name = "local";
  local.model_name = "qwen";
  local.backend = "embedded";
  local.model = "qwen2.5-0.5b-instruct-q4_k_m.gguf";
  local.ok = true;
  local.latency_ms = 120.5;
  local.attempts = 1;
  local.prompt_tokens = 300;
  local.completion_tokens = 8;
  local.cached_prompt_tokens = 200;
  TierAttempt frontier = local;
  frontier.tier = 1;
  frontier.tier_name = "frontier";
  frontier.backend = "anthropic";
  frontier.model = "claude";
  frontier.prompt_tokens = 500;
  frontier.completion_tokens = 12;
  frontier.cached_prompt_tokens = 0;
  d.tiers = {local, frontier};
  d.stages = {{"gates", 0.1}, {"local", 120.0}, {"validate", 0.3}, {"frontier", 800.0}};
  d.total_ms = 921.0;
  return d;
}

TEST(AuditRecordTest, HasEveryField) {
  const json r = make_audit_record(sample_decision(), "make: *** [all] Error 2", AuditConfig{});
  for (const char* key : {"schema_version",
                          "ts",
                          "request_id",
                          "task",
                          "route",
                          "reason",
                          "reason_detail",
                          "tiers",
                          "validators",
                          "hard_stop",
                          "confidence",
                          "stages",
                          "total_ms",
                          "tokens",
                          "input_sha256",
                          "local_answer_sha256",
                          "answer_sha256",
                          "preview",
                          "label",
                          "macro",
                          "args",
                          "shadow",
                          "shadow_route",
                          "local_ran",
                          "local_json_valid",
                          "frontier_ok",
                          "frontier_error",
                          "reduction"})
    EXPECT_TRUE(r.contains(key)) << key;
  EXPECT_FALSE(r.contains("raw_prompt"));
  EXPECT_EQ(r["schema_version"], 1);
  EXPECT_EQ(r["reason"], "confidence_low");
  EXPECT_EQ(r["route"], "frontier");
  EXPECT_EQ(r["label"], "test");
  EXPECT_TRUE(r["macro"].is_null());
  EXPECT_DOUBLE_EQ(r["confidence"].get<double>(), 0.41);
  EXPECT_TRUE(
      std::regex_match(r["ts"].get<std::string>(), std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")))
      << r["ts"];

  ASSERT_EQ(r["tiers"].size(), 2u);
  EXPECT_EQ(r["tiers"][0]["model"], "qwen2.5-0.5b-instruct-q4_k_m.gguf");
  EXPECT_EQ(r["tiers"][1]["backend"], "anthropic");
  for (const char* key : {"tier", "tier_name", "model_name", "backend", "model", "ok", "error", "latency_ms",
                          "attempts", "prompt_tokens", "completion_tokens", "cached_prompt_tokens"})
    EXPECT_TRUE(r["tiers"][0].contains(key)) << key;
  EXPECT_EQ(r["tokens"]["prompt"], 800);
  EXPECT_EQ(r["tokens"]["completion"], 20);
  EXPECT_EQ(r["tokens"]["cached_prompt"], 200);

  ASSERT_EQ(r["validators"].size(), 2u);
  EXPECT_EQ(r["validators"][1]["validator"], "confidence");
  EXPECT_EQ(r["validators"][1]["passed"], false);
  EXPECT_EQ(r["validators"][1]["reason"], "confidence_low");
  EXPECT_TRUE(r["validators"][0]["reason"].is_null());

  EXPECT_DOUBLE_EQ(r["stages"]["frontier"].get<double>(), 800.0);
  EXPECT_DOUBLE_EQ(r["total_ms"].get<double>(), 921.0);
  EXPECT_EQ(r["input_sha256"], sha256_hex("make: *** [all] Error 2"));
  EXPECT_EQ(r["local_answer_sha256"], sha256_hex("{\"label\": \"build\"}"));
  EXPECT_EQ(r["answer_sha256"], sha256_hex("{\"label\": \"test\"}"));
  EXPECT_EQ(r["preview"], "make: *** [all] Error 2");
  EXPECT_TRUE(r["hard_stop"].is_null());
}

TEST(AuditRecordTest, ReductionKeepsSizesAndHashesOfBoth) {
  Decision d = sample_decision();
  const std::string original = "2024-01-01T00:00:00Z ##[error]boom\n2024-01-01T00:00:01Z ##[error]boom\n";
  EXPECT_TRUE(make_audit_record(d, original, AuditConfig{})["reduction"].is_null());
  InputReduction reduction;
  reduction.text = "error: boom\n... (1 similar line)";
  reduction.original_bytes = original.size();
  reduction.original_lines = 2;
  reduction.kept_lines = 1;
  reduction.decisive_lines = 2;
  reduction.tokens = 9;
  d.reduction = reduction;
  const json r = make_audit_record(d, original, AuditConfig{});
  ASSERT_TRUE(r["reduction"].is_object());
  EXPECT_EQ(r["reduction"]["original_bytes"], original.size());
  EXPECT_EQ(r["reduction"]["original_sha256"], sha256_hex(original));
  EXPECT_EQ(r["reduction"]["original_sha256"], r["input_sha256"]);
  EXPECT_EQ(r["reduction"]["reduced_bytes"], reduction.text.size());
  EXPECT_EQ(r["reduction"]["reduced_sha256"], sha256_hex(reduction.text));
  EXPECT_EQ(r["reduction"]["original_lines"], 2);
  EXPECT_EQ(r["reduction"]["kept_lines"], 1);
  EXPECT_EQ(r["reduction"]["decisive_lines"], 2);
  EXPECT_EQ(r["reduction"]["reduced_tokens"], 9);
}

TEST(AuditRecordTest, HardStopMacroAndShadow) {
  Decision d = sample_decision();
  d.task = "route_macro";
  d.macro = "stale_sweep_v1";
  d.args = {{"owner", "acme"}, {"action", "close"}};
  d.hard_stop = HardStopMatch{"production", "irreversible:stale_sweep_v1.action", "args", "action=close"};
  d.shadow = true;
  d.shadow_route = "local";
  d.local_ran = false;
  const json r = make_audit_record(d, "close stale issues", AuditConfig{});
  EXPECT_EQ(r["macro"], "stale_sweep_v1");
  EXPECT_EQ(r["args"]["action"], "close");
  EXPECT_EQ(r["hard_stop"]["rule_id"], "irreversible:stale_sweep_v1.action");
  EXPECT_EQ(r["hard_stop"]["where"], "args");
  EXPECT_EQ(r["shadow"], true);
  EXPECT_EQ(r["shadow_route"], "local");
  EXPECT_TRUE(r["local_answer_sha256"].is_null());
}

TEST(AuditRecordTest, HardStopMatchIsRedacted) {
  Decision d = sample_decision();
  d.hard_stop = HardStopMatch{"security", "aws_key", "input", "AKIAIOSFODNN7EXAMPLE"};
  json r = make_audit_record(d, "x", AuditConfig{});
  EXPECT_EQ(r["hard_stop"]["rule_id"], "aws_key");
  EXPECT_EQ(r["hard_stop"]["matched"].get<std::string>().find("IOSFODNN7EXAMPLE"), std::string::npos) << r.dump();
  d.hard_stop = HardStopMatch{"security", "password_word", "input", "hunter2-is-my-password"};
  r = make_audit_record(d, "x", AuditConfig{});
  EXPECT_EQ(r["hard_stop"]["matched"], "hu\u2026 (22 chars)");
}

TEST(AuditRecordTest, RawPromptOnlyWhenAsked) {
  AuditConfig cfg;
  cfg.store_raw_prompt = true;
  const json r = make_audit_record(sample_decision(), "in", cfg, "system: classify\nuser: in");
  ASSERT_TRUE(r.contains("raw_prompt"));
  EXPECT_EQ(r["raw_prompt"], "system: classify\nuser: in");
}

TEST(AuditRecordTest, PreviewIsCutAndValidUtf8) {
  std::string input = "x";                                        // shifts every multi-byte char off a 4-byte boundary
  for (int i = 0; i < 400; ++i) input += "\xE2\x9C\x96\xC3\xA9";  // ✖é
  const json r = make_audit_record(sample_decision(), input, AuditConfig{});
  const std::string preview = r["preview"].get<std::string>();
  EXPECT_TRUE(valid_utf8(preview));
  std::size_t code_points = 0;
  for (unsigned char c : preview)
    if ((c & 0xC0) != 0x80) ++code_points;
  EXPECT_EQ(code_points, 240u);

  AuditConfig small;
  small.preview_chars = 10;
  EXPECT_EQ(make_audit_record(sample_decision(), input, small)["preview"].get<std::string>(),
            "x\xE2\x9C\x96\xC3\xA9\xE2\x9C\x96\xC3\xA9\xE2\x9C\x96\xC3\xA9\xE2\x9C\x96\xC3\xA9\xE2\x9C\x96");
}

TEST(AuditRecordTest, InvalidUtf8NeverBreaksSerialization) {
  Decision d = sample_decision();
  d.reason_detail = "bad \xff byte";
  d.answer_text = "\xc3";
  d.validators.push_back({"labels", false, Reason::kSchemaInvalid, "label \"\xfe\xfe\" not allowed"});
  d.args = json::object();
  const std::string input = "log line \xff\xfe\xc0\xaf with garbage \xed\xa0\x80";
  const json r = make_audit_record(d, input, AuditConfig{});
  std::string dumped;
  ASSERT_NO_THROW(dumped = r.dump());  // strict: throws on invalid UTF-8
  EXPECT_TRUE(valid_utf8(dumped));
  EXPECT_NE(r["preview"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(r["input_sha256"], sha256_hex(input));  // hashes are of the raw bytes
}

TEST(AuditRecordTest, SecretsNeverAppearAnywhere) {
  const std::vector<std::string> secrets = {
      "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
      "glpat-abcDEF0123456789xyzQ",
      "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
      "AKIAIOSFODNN7EXAMPLE",
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "npm_abcdefghijklmnopqrstuvwxyz0123456789",
      "sk-ant-api03-Abcdefghijklmnopqrstuvwxyz_0123456789-AA",
      "s3cr3tP4ss",
      "hunter2hunter2",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
      "MIIEowIBAAKCAQEA7Zq1",
      "abc.def-ghi_jkl123"};
  const std::string input =
      "npm ERR! 401 with npm_abcdefghijklmnopqrstuvwxyz0123456789; GH_TOKEN=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 "
      "glpat-abcDEF0123456789xyzQ xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx AKIAIOSFODNN7EXAMPLE "
      "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY "
      "sk-ant-api03-Abcdefghijklmnopqrstuvwxyz_0123456789-AA https://bot:s3cr3tP4ss@example.com/x.git "
      "password=hunter2hunter2 "
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U "
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7Zq1\n-----END RSA PRIVATE KEY----- "
      "Bearer abc.def-ghi_jkl123";
  Decision d = sample_decision();
  // Secrets echoed into every free-text field a local model or upstream could fill.
  d.reason_detail = "escalated: " + input;
  d.label = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
  d.args = {{"owner", "AKIAIOSFODNN7EXAMPLE"}, {"note", input}};
  d.validators.push_back({"grounding", false, Reason::kArgsUngrounded, "owner=\"" + secrets[0] + "\""});
  d.hard_stop = HardStopMatch{"access", "token", "input", "GH_TOKEN=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"};
  d.tiers[1].ok = false;
  d.tiers[1].error = make_error(ErrorCode::kUpstreamRejected,
                                "invalid x-api-key sk-ant-api03-Abcdefghijklmnopqrstuvwxyz_0123456789-AA");
  d.frontier_error = d.tiers[1].error;
  // Client-supplied strings: the task name, and the request's own fields merged in.
  d.task = "triage " + secrets[0];
  const json extra = {{"user", input}, {"metadata", {{"note", input}, {secrets[0], "key"}}}};
  AuditConfig cfg;
  cfg.store_raw_prompt = true;
  cfg.preview_chars = 2000;
  const json r = make_audit_record(d, input, cfg, "user: " + input, extra);
  const std::string dumped = r.dump();
  for (const auto& s : secrets) EXPECT_EQ(dumped.find(s), std::string::npos) << s;
  EXPECT_NE(r["preview"].get<std::string>().find("[REDACTED:"), std::string::npos);
  EXPECT_NE(r["preview"].get<std::string>().find("npm ERR! 401"), std::string::npos);
  EXPECT_NE(r["user"].get<std::string>().find("npm ERR! 401"), std::string::npos) << "kept, scrubbed";
  EXPECT_EQ(r["tiers"][1]["error"].get<std::string>().rfind("upstream_rejected: ", 0), 0u);

  PassThroughCall call;
  call.request_id = "req_1";
  call.model_name = "frontier";
  call.outcome = d.frontier_error;
  const std::string passed = make_pass_through_record(call, extra).dump();
  for (const auto& s : secrets) EXPECT_EQ(passed.find(s), std::string::npos) << s;
}

TEST(AuditRecordTest, FailedEscalationIsRecordedWithItsFlags) {
  Decision d = sample_decision();
  d.tiers[1].ok = false;
  d.tiers[1].error = make_error(ErrorCode::kConnectionReset, "stream cut");
  d.frontier_error = d.tiers[1].error;
  d.frontier_mid_stream = true;
  const json r = make_audit_record(d, "x", AuditConfig{});
  EXPECT_EQ(r["frontier_error"], "connection_reset: stream cut");
  EXPECT_EQ(r["frontier_mid_stream"], true);
  EXPECT_EQ(r["tiers"][1]["error"], "connection_reset: stream cut");
  EXPECT_TRUE(r["tiers"][0]["error"].is_null());
}

// audit.replay: the raw input, secret and all, lives only in sealed_input; the clear
// fields are scrubbed as ever, and the blob opens with the key and no other.
TEST(RecordTest, SealedInputHoldsTheRawInputAndOnlyThere) {
  const std::string secret = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
  const std::string input = "deploy failed: token " + secret + " rejected";
  auto key = audit::seal_key_from_hex(std::string(64, 'a'));
  ASSERT_TRUE(key.ok());
  AuditConfig cfg;
  const json rec = make_audit_record(sample_decision(), input, cfg, "prompt " + input, {}, &*key);
  ASSERT_TRUE(rec.contains("sealed_input")) << rec.dump();
  EXPECT_EQ(rec["sealed_input"]["key_id"], key->id);
  json without_seal = rec;
  without_seal.erase("sealed_input");
  EXPECT_EQ(without_seal.dump().find(secret), std::string::npos) << without_seal.dump();
  EXPECT_FALSE(rec.contains("raw_prompt"));  // store_raw_prompt stays off
  auto opened = audit::unseal(*key, rec["sealed_input"]);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(*opened, input);
  auto other = audit::seal_key_from_hex(std::string(64, 'b'));
  EXPECT_EQ(audit::unseal(*other, rec["sealed_input"]).status().code(), ErrorCode::kPermissionDenied);

  // Without a key there is no sealed input, and a caller's field of that name is dropped.
  const json plain = make_audit_record(sample_decision(), input, cfg, "", {{"sealed_input", "forged"}});
  EXPECT_FALSE(plain.contains("sealed_input"));
}

// The candidate object has exactly the fields `ladder rotate report` reads; a candidate
// that gave no answer is {model, error}.
TEST(RecordTest, CandidateFieldsForTheRotationReport) {
  Decision d = sample_decision();
  CandidateResult c;
  c.model = "next";
  c.sha256 = "ab12";
  c.label = "build";
  c.answer_sha256 = sha256_hex("{\"label\": \"build\"}");
  c.confidence = 0.8;
  c.would_accept = true;
  c.latency_ms = 42.5;
  d.candidate = c;
  const json rec = make_audit_record(d, "log", AuditConfig{});
  const json want = {
      {"model", "next"},   {"sha256", "ab12"},     {"label", "build"},  {"answer_sha256", c.answer_sha256},
      {"confidence", 0.8}, {"would_accept", true}, {"reason", nullptr}, {"latency_ms", 42.5}};
  EXPECT_EQ(rec["candidate"], want);

  CandidateResult down;
  down.model = "next";
  down.error = "unavailable: connection refused";
  d.candidate = down;
  EXPECT_EQ(make_audit_record(d, "log", AuditConfig{})["candidate"],
            json({{"model", "next"}, {"error", "unavailable: connection refused"}}));
  d.candidate.reset();
  EXPECT_FALSE(make_audit_record(d, "log", AuditConfig{}).contains("candidate"));
}

// A request refused over a client's limit: its fields as the server gives them, extra
// merged in, every string scrubbed like the others'.
TEST(RecordTest, RefusedRequestRecordNamesItsLimitAndIsScrubbed) {
  const std::string secret = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
  RefusedRequest refused{"req_9",
                         "/v1/chat/completions",
                         "rate_limited",
                         "tokens_per_minute",
                         12,
                         "client 'bob' is over its 5 tokens per minute"};
  const json r = make_refused_record(refused, {{"client", "bob " + secret}, {"via", "server"}});
  EXPECT_EQ(r["route"], "rejected");
  EXPECT_EQ(r["request_id"], "req_9");
  EXPECT_EQ(r["endpoint"], "/v1/chat/completions");
  EXPECT_EQ(r["reason"], "rate_limited");
  EXPECT_EQ(r["limit"], "tokens_per_minute");
  EXPECT_EQ(r["retry_after_s"], 12);
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"], refused.message);
  EXPECT_EQ(r["via"], "server");
  EXPECT_TRUE(r["ts"].is_string());
  EXPECT_EQ(r.dump().find(secret), std::string::npos) << r.dump();
}

}  // namespace
}  // namespace ladder
