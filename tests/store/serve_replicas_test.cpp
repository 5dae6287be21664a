// Two `ladder serve` replicas on one real PostgreSQL (docs/deploy.md): both write their
// decisions to the one store, an admin switch set on one is applied by the other, a
// per-key request limit counts the requests of both, and PostgreSQL going away under
// them (or never being there) is survived or refused clearly. Both tiers are
// fake_frontier.py processes (no embedded model).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "pg_server.h"
#include "serve_client.h"
#include "store/record_store.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using store::Pg;
using store::PostgresServer;
using Clock = std::chrono::steady_clock;

constexpr const char* kDsnEnv = "LADDER_TEST_REPLICAS_DSN";
constexpr const char* kAdminEnv = "LADDER_TEST_REPLICAS_ADMIN";
const std::string kCarolKey = "sk-carol-test-key";

// Polls `done` until it holds or `deadline` passes; the time it took, or -1 ms.
std::chrono::milliseconds wait_until(const std::function<bool()>& done, std::chrono::milliseconds deadline) {
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < deadline) {
    if (done()) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a poll interval, not a synchronisation
  }
  return std::chrono::milliseconds(-1);
}

json admin_state(const Serve& s) {
  Response r = http(s.port, "GET", "/admin/state", "", {{"Authorization", "Bearer " + kAdminToken}});
  return r.status == 200 ? r.json_body() : json();
}

std::set<std::string> request_ids_in(const std::string& jsonl) {
  std::set<std::string> ids;
  std::istringstream in(read_file(jsonl));
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("request_id")) ids.insert(j["request_id"].get<std::string>());
  }
  return ids;
}

class ServeReplicasTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = new PostgresServer(); }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }

  void SetUp() override {
    if (!pg_->started()) GTEST_SKIP() << "PostgreSQL server binaries not installed";
    dir_ = fs::temp_directory_path() / ("ladder-replicas-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    dsn_ = pg_->create_db();
    setenv(kDsnEnv, dsn_.c_str(), 1);
    setenv(kAdminEnv, kAdminToken.c_str(), 1);
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-not-secret", 1);
    ASSERT_GT(local_.port, 0);
    ASSERT_GT(frontier_.port, 0);
    std::string policy = fake_tiers_policy_text(frontier_.port, local_.port);
    // The example keeps the default store (SQLite beside the policy): add the shared one.
    ASSERT_EQ(policy.find("\nstore:"), std::string::npos);
    policy += std::string("\nstore:\n  kind: postgres\n  dsn_env: ") + kDsnEnv + "\n";
    write_file(dir_ / "policy.yaml", policy);
    write_file(dir_ / "keys.yaml",
               "alice: {key: " + kAliceKey + ", limits: {requests_per_minute: 10}}\n" + "carol: " + kCarolKey + "\n");
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Serve> start_replica(const std::string& name) {
    auto s = std::make_unique<Serve>(
        std::vector<std::string>{"--audit", dir_ / (name + ".jsonl"), "--health-interval-ms", "0", "--admin-token-env",
                                 kAdminEnv, "--api-keys-file", dir_ / "keys.yaml", "--replica-id", name},
        dir_ / "policy.yaml", dir_ / (name + ".log"));
    EXPECT_GT(s->port, 0) << read_file(dir_ / (name + ".log"));
    return s;
  }
  void start_both() {
    a_ = start_replica("a");
    b_ = start_replica("b");
    ASSERT_GT(a_->port, 0);
    ASSERT_GT(b_->port, 0);
  }
  // A pass-through call on the local fake, as `key`.
  static int call(const Serve& s, const std::string& key) {
    return s.post("/v1/chat/completions", chat_body("gemma-local", "hi"), key).status;
  }
  // Waits until replica `s` finished `n` more quota syncs than it had when called.
  static bool quota_syncs_advance(const Serve& s, long long n) {
    const long long from = admin_state(s)["shared_state"]["quota_syncs"].get<long long>();
    return wait_until([&] { return admin_state(s)["shared_state"]["quota_syncs"].get<long long>() >= from + n; },
                      std::chrono::seconds(10))
               .count() >= 0;
  }

  static PostgresServer* pg_;
  fs::path dir_;
  std::string dsn_;
  Fake local_, frontier_;
  std::unique_ptr<Serve> a_, b_;
};
PostgresServer* ServeReplicasTest::pg_ = nullptr;

TEST_F(ServeReplicasTest, DecisionsOfBothReplicasGoToTheOneStore) {
  start_both();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call(*a_, kCarolKey), 200);
    EXPECT_EQ(call(*b_, kCarolKey), 200);
  }
  const auto from_a = request_ids_in(dir_ / "a.jsonl"), from_b = request_ids_in(dir_ / "b.jsonl");
  EXPECT_EQ(from_a.size(), 3u);
  EXPECT_EQ(from_b.size(), 3u);
  std::set<std::string> both = from_a;
  both.insert(from_b.begin(), from_b.end());
  Pg pg(dsn_);
  const auto stored = pg.column("SELECT request_id FROM decisions");
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()), both);
  EXPECT_EQ(stored.size(), 6u);
  EXPECT_EQ(pg.column("SELECT version FROM schema_version")[0], std::to_string(store::kLatestSchemaVersion));
}

TEST_F(ServeReplicasTest, AdminSwitchesSetOnOneReplicaReachTheOtherWithinASecond) {
  start_both();
  // The state is read at start; the listener follows on its own thread.
  ASSERT_GE(
      wait_until([&] { return admin_state(*b_)["shared_state"]["listener"] == "up"; }, std::chrono::seconds(5)).count(),
      0);
  EXPECT_EQ(admin_state(*b_)["shared_state"]["replica"], "b");
  ASSERT_EQ(a_->admin("/admin/kill-switch", {{"enabled", true}}).status, 200);
  const auto global =
      wait_until([&] { return admin_state(*b_)["kill_switch"]["global"] == true; }, std::chrono::seconds(5));
  ASSERT_GE(global.count(), 0) << admin_state(*b_).dump();
  EXPECT_LT(global.count(), 1000);
  std::printf("kill switch A -> B: %lld ms\n", static_cast<long long>(global.count()));
  RecordProperty("kill_switch_propagation_ms", static_cast<int>(global.count()));

  ASSERT_EQ(b_->admin("/admin/kill-switch", {{"enabled", true}, {"task", "classify_issue"}}).status, 200);
  ASSERT_EQ(b_->admin("/admin/shadow", {{"enabled", false}}).status, 200);
  const auto task = wait_until(
      [&] {
        json s = admin_state(*a_);
        return s["kill_switch"]["tasks"] == json::array({"classify_issue"}) && s["shadow"]["override"] == false;
      },
      std::chrono::seconds(5));
  ASSERT_GE(task.count(), 0) << admin_state(*a_).dump();
  EXPECT_LT(task.count(), 1000);
  std::printf("task kill switch and shadow B -> A: %lld ms\n", static_cast<long long>(task.count()));

  // Off globally clears the tasks too, on both.
  ASSERT_EQ(a_->admin("/admin/kill-switch", {{"enabled", false}}).status, 200);
  const auto off = wait_until(
      [&] {
        json s = admin_state(*b_);
        return s["kill_switch"]["global"] == false && s["kill_switch"]["tasks"].empty();
      },
      std::chrono::seconds(5));
  EXPECT_GE(off.count(), 0) << admin_state(*b_).dump();
  // A replica started later reads the state at start.
  ASSERT_EQ(a_->admin("/admin/shadow", {{"enabled", true}}).status, 200);
  auto c = start_replica("c");
  EXPECT_EQ(admin_state(*c)["shadow"]["override"], true);
}

TEST_F(ServeReplicasTest, PerKeyRequestLimitCountsTheRequestsOfBothReplicas) {
  start_both();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(call(*a_, kAliceKey), 200);
  // A flushed its six (a whole sync after them), then B read them (two more of B's).
  ASSERT_TRUE(quota_syncs_advance(*a_, 2));
  ASSERT_TRUE(quota_syncs_advance(*b_, 2));
  int admitted_b = 0, refused_b = 0;
  for (int i = 0; i < 10; ++i) {
    const int status = call(*b_, kAliceKey);
    admitted_b += status == 200;
    refused_b += status == 429;
  }
  EXPECT_EQ(admitted_b, 4) << "10 per minute across both replicas, 6 of them on A";
  EXPECT_EQ(refused_b, 6);
  ASSERT_TRUE(quota_syncs_advance(*b_, 2));
  ASSERT_TRUE(quota_syncs_advance(*a_, 2));
  EXPECT_EQ(call(*a_, kAliceKey), 429) << "A counts B's four";
  // A client without limits is not held back.
  EXPECT_EQ(call(*a_, kCarolKey), 200);
  EXPECT_EQ(call(*b_, kCarolKey), 200);
  Pg pg(dsn_);
  EXPECT_EQ(
      pg.column("SELECT sum(value)::bigint FROM quota_counters WHERE client = 'alice' AND metric = 'requests'")[0],
      "10");
}

TEST_F(ServeReplicasTest, MalformedAdminRowsAreSkippedAndCounted) {
  start_both();
  Pg pg(dsn_);
  pg.exec(
      "INSERT INTO admin_state(key, value) VALUES ('kill_all', 'not json'), ('kill_task:bad name!', 'true'),"
      " ('mystery', '1'), ('shadow', '\"yes\"'), ('kill_task:classify_issue', 'true');"
      "NOTIFY ladder_admin;");
  const auto seen = wait_until(
      [&] {
        json s = admin_state(*a_);
        return s["shared_state"]["malformed_admin_rows"] == 4 &&
               s["kill_switch"]["tasks"] == json::array({"classify_issue"});
      },
      std::chrono::seconds(5));
  ASSERT_GE(seen.count(), 0) << admin_state(*a_).dump();
  json s = admin_state(*a_);
  EXPECT_EQ(s["kill_switch"]["global"], false);
  EXPECT_TRUE(s["shadow"]["override"].is_null());
  EXPECT_EQ(call(*a_, kCarolKey), 200);
}

TEST_F(ServeReplicasTest, PostgresDownAtStartIsAClearErrorNamingTheVariable) {
  const std::string missing = "host=" + (dir_ / "no-server").string() + " port=1 user=ladder password=hunter2";
  setenv(kDsnEnv, missing.c_str(), 1);
  RunResult r = run_process({kLadder, "serve", "--policy", dir_ / "policy.yaml", "--port", "0"}, "", 60);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(std::string("$") + kDsnEnv), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << "the DSN's value is never printed";
  EXPECT_EQ(r.out.find("listening on"), std::string::npos);
}

TEST_F(ServeReplicasTest, MalformedReplicaIdOrSyncIntervalIsRefusedBeforeStart) {
  for (const std::string& bad : {std::string(), std::string("a b"), std::string("rep\xff"), std::string(129, 'r')}) {
    RunResult r =
        run_process({kLadder, "serve", "--policy", dir_ / "policy.yaml", "--port", "0", "--replica-id", bad}, "", 60);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--replica-id"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("listening on"), std::string::npos);
  }
  for (const char* bad : {"5", "0", "soon", "70000"}) {
    RunResult r = run_process(
        {kLadder, "serve", "--policy", dir_ / "policy.yaml", "--port", "0", "--shared-sync-ms", bad}, "", 60);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--shared-sync-ms"), std::string::npos) << r.err;
  }
  Pg pg(dsn_);
  EXPECT_EQ(pg.column("SELECT count(*) FROM information_schema.tables WHERE table_name = 'decisions'")[0], "0")
      << "refused before the store was opened";
}

TEST_F(ServeReplicasTest, PostgresRestartedUnderRunningReplicasIsSurvived) {
  start_both();
  ASSERT_EQ(a_->admin("/admin/kill-switch", {{"enabled", true}, {"task", "classify_issue"}}).status, 200);
  ASSERT_GE(
      wait_until([&] { return admin_state(*b_)["kill_switch"]["tasks"].size() == 1; }, std::chrono::seconds(5)).count(),
      0);
  ASSERT_TRUE(pg_->stop());
  const auto down =
      wait_until([&] { return admin_state(*b_)["shared_state"]["listener"] == "down"; }, std::chrono::seconds(10));
  ASSERT_GE(down.count(), 0) << admin_state(*b_).dump();
  // Still serving, on the last state.
  EXPECT_EQ(http(b_->port, "GET", "/healthz", "").status, 200);
  EXPECT_EQ(admin_state(*b_)["kill_switch"]["tasks"], json::array({"classify_issue"}));
  Response readyz = http(b_->port, "GET", "/readyz", "");
  EXPECT_EQ(readyz.json_body()["shared_state"]["listener"], "down") << readyz.body;
  // A switch cannot be shared while PostgreSQL is away: refused, not half-applied.
  Response refused = b_->admin("/admin/shadow", {{"enabled", true}});
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_TRUE(admin_state(*b_)["shadow"]["override"].is_null());

  ASSERT_TRUE(pg_->start());
  const auto up = wait_until(
      [&] {
        json s = admin_state(*b_)["shared_state"];
        return s["listener"] == "up" && s["listener_reconnects"].get<long long>() >= 1;
      },
      std::chrono::seconds(15));
  ASSERT_GE(up.count(), 0) << admin_state(*b_).dump();
  ASSERT_GE(wait_until([&] { return admin_state(*a_)["shared_state"]["listener"] == "up"; }, std::chrono::seconds(15))
                .count(),
            0);
  ASSERT_EQ(b_->admin("/admin/kill-switch", {{"enabled", false}, {"task", "classify_issue"}}).status, 200);
  EXPECT_GE(
      wait_until([&] { return admin_state(*a_)["kill_switch"]["tasks"].empty(); }, std::chrono::seconds(5)).count(), 0)
      << admin_state(*a_).dump();
  // Decisions go to the store again after the restart.
  EXPECT_EQ(call(*a_, kCarolKey), 200);
  EXPECT_EQ(call(*b_, kCarolKey), 200);
  Pg pg(dsn_);
  EXPECT_EQ(pg.column("SELECT count(*) FROM decisions")[0], "2") << read_file(dir_ / "a.log");
}

// The shipped nginx example (examples/deploy/nginx.conf) in front of the two replicas, with
// only its ports and file paths changed: requests through it reach both, their decisions
// land in the one store, and a replica that goes away is skipped without a failed request.
TEST_F(ServeReplicasTest, ExampleNginxConfigSpreadsRequestsOverBothReplicas) {
  if (!fs::exists("/usr/sbin/nginx")) GTEST_SKIP() << "nginx not installed";
  start_both();
  std::string conf = read_file(kSource + "/examples/deploy/nginx.conf");
  ASSERT_NE(conf.find("127.0.0.1:8081"), std::string::npos);
  ASSERT_NE(conf.find("127.0.0.1:8082"), std::string::npos);
  ASSERT_NE(conf.find("listen 8080;"), std::string::npos);
  const int port = free_port();
  replace_all(conf, "127.0.0.1:8081", "127.0.0.1:" + std::to_string(a_->port));
  replace_all(conf, "127.0.0.1:8082", "127.0.0.1:" + std::to_string(b_->port));
  replace_all(conf, "listen 8080;", "listen 127.0.0.1:" + std::to_string(port) + ";");
  fs::create_directories(dir_ / "nginx" / "logs");
  write_file(dir_ / "nginx" / "nginx.conf", conf);
  ServerProcess nginx({"/usr/sbin/nginx", "-p", (dir_ / "nginx").string() + "/", "-c",
                       (dir_ / "nginx" / "nginx.conf").string(), "-g", "daemon off; master_process off;"},
                      (dir_ / "nginx" / "stderr.log").string());
  ASSERT_TRUE(nginx.started());
  ASSERT_GE(
      wait_until([&] { return http(port, "GET", "/healthz", "").status == 200; }, std::chrono::seconds(10)).count(), 0)
      << read_file(dir_ / "nginx" / "stderr.log");
  auto through = [&] {
    return http(port, "POST", "/v1/chat/completions", chat_body("gemma-local", "hi").dump(),
                {{"Authorization", "Bearer " + kCarolKey}, {"Content-Type", "application/json"}})
        .status;
  };
  int ok = 0;
  for (int i = 0; i < 8; ++i) ok += through() == 200;
  EXPECT_EQ(ok, 8);
  const auto from_a = request_ids_in(dir_ / "a.jsonl"), from_b = request_ids_in(dir_ / "b.jsonl");
  EXPECT_GE(from_a.size(), 1u) << "least_conn with keepalive still reaches replica a";
  EXPECT_GE(from_b.size(), 1u);
  EXPECT_EQ(from_a.size() + from_b.size(), 8u);
  Pg pg(dsn_);
  EXPECT_EQ(pg.column("SELECT count(*) FROM decisions")[0], "8");
  // Replica b goes away: nginx retries the connection on a (the request never reached b).
  b_.reset();
  ok = 0;
  for (int i = 0; i < 4; ++i) ok += through() == 200;
  EXPECT_EQ(ok, 4) << read_file(dir_ / "nginx" / "ladder-nginx-error.log");
  EXPECT_EQ(request_ids_in(dir_ / "a.jsonl").size(), from_a.size() + 4);
}

}  // namespace
}  // namespace ladder::testing
