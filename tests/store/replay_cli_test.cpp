// Rotation and replay end to end: the real ladder binary, the real local model (the
// default GGUF through the embedded backend), a real SQLite store.
//
// - `ladder route` under `rotation:` writes records with `candidate`, and `ladder rotate
//   report` reads them. No second model is installed here, so the candidate is the same
//   GGUF file under another model name (`gemma-next`): its answers must agree with the live
//   model's, which the report is asked to show.
// - `ladder replay` unseals a stored input and routes it again, recording every access
//   (who, why, outcome, key id) before anything is unsealed; a wrong key, an unknown id, a
//   record without a sealed input and tampered ciphertext are recorded and refused with
//   exit code 2 and a stable reason; `ladder replay log` lists the accesses.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../integration/cli_fixture.h"  // kLadder, kModel

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kKeyEnv = "LADDER_TEST_REPLAY_KEY";
const std::string kKey = "8f3c2a1b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";
const std::string kOtherKey = "1111111111111111111111111111111111111111111111111111111111111111";
const std::string kSecret = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
const std::string kLog = "ERROR: No matching distribution found for requests==99.0\n";

// A folder per test, and the example policy with its frontier on a closed port (an
// escalation fails fast and is still recorded) and its store an SQLite file there.
class RotationReplayCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kModel)) << "run scripts/setup first: " << kModel;
    dir_ = fs::temp_directory_path() / ("ladder-replay-cli-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    setenv(kKeyEnv.c_str(), kKey.c_str(), 1);
  }
  void TearDown() override {
    unsetenv(kKeyEnv.c_str());
    fs::remove_all(dir_);
  }
  std::string write_policy(const std::string& rotation, bool replay) {
    std::string text = example_policy_text(kModel);
    replace_all(text, "http://127.0.0.1:8089", "http://127.0.0.1:" + std::to_string(free_port()));
    if (!rotation.empty()) {
      replace_all(text, "models:\n  gemma-local:\n",
                  "models:\n  gemma-next:   # the same file under another name: no second model here\n"
                  "    backend: embedded\n    path: " +
                      kModel + "\n    context_size: 4096\n    threads: 2\n  gemma-local:\n");
      text += "\n" + rotation + "\n";
    }
    if (replay)
      replace_all(text, "audit:\n  store_raw_prompt: false\n",
                  "audit:\n  replay: {key_env: " + kKeyEnv + "}\n  store_raw_prompt: false\n");
    text += "\nstore: {kind: sqlite, path: " + db() + "}\n";
    const std::string path = (dir_ / "policy.yaml").string();
    write_file(path, text);
    return path;
  }
  std::string db() const { return (dir_ / "ladder.db").string(); }
  RunResult route(const std::string& policy, const std::string& input) {
    return run_process({kLadder, "route", "--policy", policy, "--task", "classify_issue", "--json", "--audit",
                        (dir_ / "audit.jsonl").string()},
                       input);
  }
  RunResult replay(const std::string& policy, const std::string& id, const std::string& who = "alice",
                   const std::string& why = "incident 42: wrong label") {
    return run_process({kLadder, "replay", id, "--policy", policy, "--who", who, "--why", why, "--json"});
  }
  json access_log(const std::string& policy, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {kLadder, "replay", "log", "--policy", policy, "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    RunResult r = run_process(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  void sql(const std::string& statement) {
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &handle), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(handle, statement.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(handle);
  }

  fs::path dir_;
};

TEST_F(RotationReplayCliTest, RealModelInShadowFeedsTheRotationReport) {
  const std::string policy = write_policy("rotation: {candidate: gemma-next, tasks: [classify_issue]}", false);
  for (int i = 0; i < 2; ++i) {
    RunResult r = route(policy, kLog);
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  }
  RunResult out = run_process({kLadder, "rotate", "report", "--policy", policy, "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const json j = json::parse(out.out, nullptr, false);
  ASSERT_TRUE(j.contains("classify_issue")) << out.out;
  const json& t = j["classify_issue"];
  EXPECT_EQ(t["candidate_model"], "gemma-next");
  EXPECT_EQ(t["shadowed"], 2);
  EXPECT_DOUBLE_EQ(t["agreement"].get<double>(), 1.0) << "the same file answers the same: " << out.out;
  EXPECT_EQ(t["live_acceptance"], t["candidate_acceptance"]) << out.out;
  EXPECT_EQ(t["candidate_latency_ms"]["count"], 2);
  EXPECT_GT(t["candidate_latency_ms"]["p50"].get<double>(), 0.0);
  RunResult text = run_process({kLadder, "rotate", "report", "--policy", policy});
  EXPECT_NE(text.out.find("classify_issue (candidate gemma-next, 2 shadowed)"), std::string::npos) << text.out;
}

TEST_F(RotationReplayCliTest, ReplayRoundTripAndEveryRefusalIsRecorded) {
  const std::string policy = write_policy("", true);
  const std::string input = kLog + "token " + kSecret + "\n";
  RunResult routed = route(policy, input);
  ASSERT_NE(routed.exit_code, 2) << routed.err;
  const json decision = json::parse(routed.out, nullptr, false);
  ASSERT_TRUE(decision.contains("request_id")) << routed.out;
  const std::string request_id = decision["request_id"];

  // The round trip: by decision id and by request id, the same decision again.
  RunResult again = replay(policy, "1");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const json j = json::parse(again.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << again.out;
  EXPECT_EQ(j["decision_id"], 1);
  EXPECT_EQ(j["request_id"], request_id);
  EXPECT_EQ(j["stored"]["route"], j["replayed"]["route"]);
  EXPECT_EQ(j["stored"]["label"], j["replayed"]["label"]);
  EXPECT_EQ(j["agree"], true) << again.out;
  EXPECT_NE(j["replayed"]["request_id"], request_id) << "a replay is a new request";
  ASSERT_EQ(replay(policy, request_id).exit_code, 0);

  // Refused before anything is looked up: nothing to record.
  struct Bad {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Bad& b : std::vector<Bad>{
           {{"replay", "1", "--policy", policy, "--why", "x"}, "bad_argument: --who is required"},
           {{"replay", "1", "--policy", policy, "--who", "alice"}, "bad_argument: --why is required"},
           {{"replay", "1", "--policy", policy, "--who", "a\tb", "--why", "x"}, "control characters"},
           {{"replay", "1; DROP TABLE decisions", "--policy", policy, "--who", "a", "--why", "x"}, "bad_id"},
           {{"replay", "0", "--policy", policy, "--who", "a", "--why", "x"}, "bad_id"},
           {{"replay", "--policy", policy, "--who", "a", "--why", "x"}, "bad_id"},
       }) {
    std::vector<std::string> argv = {kLadder};
    argv.insert(argv.end(), b.args.begin(), b.args.end());
    RunResult r = run_process(argv);
    EXPECT_EQ(r.exit_code, 2) << b.says << ": " << r.err;
    EXPECT_NE(r.err.find(b.says), std::string::npos) << r.err;
  }
  EXPECT_EQ(access_log(policy).size(), 2u);

  // An unknown id, a record without a sealed input, a wrong key, tampered ciphertext:
  // each recorded, then refused.
  RunResult unknown = replay(policy, "999", "bob", "guess");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("error: not_found:"), std::string::npos) << unknown.err;

  write_file((dir_ / "old.jsonl").string(), json({{"ts", "2024-01-01T00:00:00.000Z"},
                                                  {"request_id", "req_old"},
                                                  {"task", "classify_issue"},
                                                  {"route", "local"}})
                                                    .dump() +
                                                "\n");
  ASSERT_EQ(run_process({kLadder, "audit", "import", (dir_ / "old.jsonl").string(), "--policy", policy}).exit_code, 0);
  RunResult unsealed = replay(policy, "req_old");
  EXPECT_EQ(unsealed.exit_code, 2);
  EXPECT_NE(unsealed.err.find("error: no_sealed_input:"), std::string::npos) << unsealed.err;

  setenv(kKeyEnv.c_str(), kOtherKey.c_str(), 1);
  RunResult wrong = replay(policy, "1", "mallory", "curious");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("error: wrong_key:"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find(kOtherKey), std::string::npos) << "never the key itself";
  setenv(kKeyEnv.c_str(), kKey.c_str(), 1);

  // One byte of the ciphertext changed (whatever it was).
  sql("UPDATE decisions SET record = json_set(record, '$.sealed_input.ciphertext',"
      " (CASE WHEN substr(json_extract(record, '$.sealed_input.ciphertext'), 1, 2) = 'ff' THEN '00' ELSE 'ff' END)"
      " || substr(json_extract(record, '$.sealed_input.ciphertext'), 3)) WHERE id = 1");
  RunResult tampered = replay(policy, "1", "alice", "after the edit");
  EXPECT_EQ(tampered.exit_code, 2);
  EXPECT_NE(tampered.err.find("error: tampered:"), std::string::npos) << tampered.err;

  // A sealed input that is not a sealed object at all.
  sql("UPDATE decisions SET record = json_set(record, '$.sealed_input', 'junk') WHERE id = 2");
  RunResult junk = replay(policy, "req_old");
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_NE(junk.err.find("error: tampered:"), std::string::npos) << junk.err;

  const json log = access_log(policy);
  ASSERT_EQ(log.size(), 7u) << log.dump(2);
  std::vector<std::string> outcomes, who;
  for (const auto& a : log) {
    outcomes.push_back(a["outcome"]);
    who.push_back(a["who"]);
  }
  EXPECT_EQ(outcomes, (std::vector<std::string>{"replayed", "replayed", "not_found", "no_sealed_input", "wrong_key",
                                                "tampered", "tampered"}));
  EXPECT_EQ(who, (std::vector<std::string>{"alice", "alice", "bob", "alice", "mallory", "alice", "alice"}));
  EXPECT_EQ(log[0]["request_id"], request_id);
  EXPECT_EQ(log[0]["why"], "incident 42: wrong label");
  EXPECT_EQ(log[2]["request_id"], "999");
  EXPECT_EQ(log[4]["key_id"].get<std::string>().size(), 16u);
  EXPECT_NE(log[4]["key_id"], log[0]["key_id"]) << "the wrong key's id is recorded";
  EXPECT_EQ(access_log(policy, {"--id", "1"}).size(), 4u);  // the accesses to decision 1's request
  EXPECT_EQ(access_log(policy, {"--id", "req_old"}).size(), 2u);

  // The raw input is in the store and the log only sealed.
  for (const std::string& file : {db(), db() + "-wal", (dir_ / "audit.jsonl").string()})
    if (fs::exists(file)) EXPECT_EQ(read_file(file).find(kSecret), std::string::npos) << file;
}

TEST_F(RotationReplayCliTest, MissingKeyVariableIsAStartUpErrorNamingIt) {
  const std::string policy = write_policy("", true);
  unsetenv(kKeyEnv.c_str());
  RunResult routed = route(policy, kLog);
  EXPECT_EQ(routed.exit_code, 2) << routed.err;
  EXPECT_NE(routed.err.find("audit.replay.key_env"), std::string::npos) << routed.err;
  EXPECT_NE(routed.err.find(kKeyEnv), std::string::npos) << routed.err;
  RunResult replayed = replay(policy, "1");
  EXPECT_EQ(replayed.exit_code, 2);
  EXPECT_NE(replayed.err.find("error: no_key:"), std::string::npos) << replayed.err;
  EXPECT_NE(replayed.err.find(kKeyEnv), std::string::npos) << replayed.err;

  const std::string plain = write_policy("", false);
  RunResult off = replay(plain, "1");
  EXPECT_EQ(off.exit_code, 2);
  EXPECT_NE(off.err.find("error: replay_not_enabled:"), std::string::npos) << off.err;
}

}  // namespace
}  // namespace ladder::testing
