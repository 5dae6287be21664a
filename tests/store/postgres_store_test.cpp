// The PostgreSQL decision store against a real server started for this suite (initdb +
// pg_ctl in a temp folder, Unix socket only, as an unprivileged user when run as root).
// Skips only when the PostgreSQL server binaries are not installed.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pg_server.h"
#include "replay_access_checks.h"
#include "store/batching_sink.h"
#include "store/import.h"
#include "store/shared_state.h"
#include "store/store.h"

namespace ladder::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kDsnEnv = "LADDER_TEST_PG_DSN";

json record(int n, const std::string& ts = "2024-01-01T00:00:00.000Z") {
  return {{"ts", ts},
          {"request_id", "req-" + std::to_string(n)},
          {"task", "classify_issue"},
          {"route", n % 2 ? "frontier" : "local"},
          {"reason", n % 2 ? json("confidence_low") : json(nullptr)},
          {"total_ms", 10.0 * n}};
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kPgBin + "/initdb") || !fs::exists(kPgBin + "/pg_ctl")) return;
    server_ = new PostgresServer();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!server_) GTEST_SKIP() << "PostgreSQL server binaries not installed under " << kPgBin;
    ASSERT_TRUE(server_->started()) << "the test PostgreSQL server did not start";
    dsn_ = server_->create_db();
    setenv(kDsnEnv, dsn_.c_str(), 1);
  }
  static StoreConfig config() {
    StoreConfig cfg;
    cfg.kind = StoreConfig::Kind::kPostgres;
    cfg.dsn_env = kDsnEnv;
    return cfg;
  }
  static PostgresServer* server_;
  std::string dsn_;
};
PostgresServer* PostgresStoreTest::server_ = nullptr;

TEST_F(PostgresStoreTest, PolicySelectedStoreCommitsEveryRecord) {
  auto sink = make_audit_sink(AuditConfig{}, config());
  ASSERT_TRUE(sink.ok()) << sink.status().to_string();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*sink)->write(record(i)).ok());
  Pg pg(dsn_);
  EXPECT_EQ(pg.column("SELECT request_id FROM decisions ORDER BY id"),
            (std::vector<std::string>{"req-0", "req-1", "req-2"}));
  EXPECT_EQ(pg.column("SELECT coalesce(reason, '<null>') FROM decisions ORDER BY id"),
            (std::vector<std::string>{"<null>", "confidence_low", "<null>"}));
  EXPECT_EQ(json::parse(pg.column("SELECT record FROM decisions WHERE request_id = 'req-1'")[0]), record(1));
  EXPECT_EQ(pg.column("SELECT total_ms FROM decisions WHERE request_id = 'req-2'")[0], "20");
  EXPECT_EQ(pg.column("SELECT version FROM schema_version")[0], std::to_string(kLatestSchemaVersion));
}

// Replicas sign macro approval tokens with one key: the first to start creates it, the
// others read it, and it is never taken for an admin switch.
TEST_F(PostgresStoreTest, ReplicasShareOneApprovalKey) {
  ASSERT_TRUE(make_audit_sink(AuditConfig{}, config()).ok());  // migrations
  auto a = SharedState::open(kDsnEnv, "a", std::chrono::milliseconds(50));
  auto b = SharedState::open(kDsnEnv, "b", std::chrono::milliseconds(50));
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ((*a)->approval_key().size(), 64u);
  EXPECT_EQ((*a)->approval_key(), (*b)->approval_key());
  Pg pg(dsn_);
  EXPECT_EQ(pg.column("SELECT updated_by FROM admin_state WHERE key = 'approval_key'"),
            (std::vector<std::string>{"a"}));
  auto state = (*b)->load_admin();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->malformed_rows, 0);
  // Another database (another deployment) gets another key.
  setenv(kDsnEnv, server_->create_db().c_str(), 1);
  ASSERT_TRUE(make_audit_sink(AuditConfig{}, config()).ok());
  auto other = SharedState::open(kDsnEnv, "a", std::chrono::milliseconds(50));
  ASSERT_TRUE(other.ok()) << other.status().to_string();
  EXPECT_NE((*other)->approval_key(), (*a)->approval_key());
}

TEST_F(PostgresStoreTest, ConcurrentWritersAllCommitted) {
  auto store = open_record_store(config());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  BatchingOptions options;
  options.queue_capacity = 8;
  options.batch_size = 16;
  {
    BatchingSink sink(std::move(store).value(), options);
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) EXPECT_TRUE(sink.write(record(t * 50 + i)).ok());
      });
    for (auto& th : threads) th.join();
  }
  Pg pg(dsn_);
  const auto ids = pg.column("SELECT request_id FROM decisions");
  EXPECT_EQ(ids.size(), 300u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 300u);
}

TEST_F(PostgresStoreTest, MigratesAVersion1Database) {
  {
    Pg pg(dsn_);
    pg.exec(
        "CREATE TABLE decisions (id BIGSERIAL PRIMARY KEY, ts TEXT, request_id TEXT, task TEXT, route TEXT,"
        " reason TEXT, record TEXT);");
    pg.exec(
        "INSERT INTO decisions(ts, request_id, task, route, record) VALUES ('2024-01-01', 'old-0', 't', 'local', '" +
        record(3).dump() + "');");
  }
  auto store = open_record_store(config());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ(*(*store)->schema_version(), kLatestSchemaVersion);
  ASSERT_TRUE((*store)->write_batch({record(7)}).ok());
  EXPECT_EQ(*(*store)->count(), 2);
  Pg pg(dsn_);
  EXPECT_EQ(pg.column("SELECT total_ms FROM decisions WHERE request_id = 'old-0'")[0], "30");  // back-filled
  store->reset();
  auto again = open_record_store(config());  // nothing applied twice
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(*(*again)->count(), 2);
}

TEST_F(PostgresStoreTest, ReplayAccessesAreKeptAndListed) {
  auto store = open_record_store(config());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  check_replay_access(**store);
}

TEST_F(PostgresStoreTest, RetentionByAgeAndByCount) {
  auto store = open_record_store(config());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  std::vector<json> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(record(i, "2000-01-01T00:00:00.000Z"));
  for (int i = 4; i < 10; ++i) batch.push_back(record(i, "2999-01-01T00:00:00.000Z"));
  ASSERT_TRUE((*store)->write_batch(batch).ok());
  auto aged = (*store)->apply_retention(30, 0);
  ASSERT_TRUE(aged.ok()) << aged.status().to_string();
  EXPECT_EQ(*aged, 4);
  auto counted = (*store)->apply_retention(0, 2);
  ASSERT_TRUE(counted.ok()) << counted.status().to_string();
  EXPECT_EQ(*counted, 4);
  Pg pg(dsn_);
  EXPECT_EQ(pg.column("SELECT request_id FROM decisions ORDER BY id"), (std::vector<std::string>{"req-8", "req-9"}));
}

TEST_F(PostgresStoreTest, MalformedImportLinesWriteNothing) {
  auto store = open_record_store(config());
  ASSERT_TRUE(store.ok());
  auto report = import_jsonl(**store, record(0).dump() + "\n{oops\n");
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].line, 2);
  EXPECT_EQ(*(*store)->count(), 0);
}

TEST_F(PostgresStoreTest, UnreachableServerAndUnsetVariableAreClearErrors) {
  setenv(kDsnEnv, "host=/nonexistent-ladder-socket-dir port=1 user=ladder password=hunter2-secret dbname=x", 1);
  auto down = open_record_store(config());
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(down.status().message().find(kDsnEnv), std::string::npos) << down.status().message();
  EXPECT_EQ(down.status().message().find("hunter2-secret"), std::string::npos) << "the DSN's password leaked";
  unsetenv(kDsnEnv);
  auto unset = open_record_store(config());
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(unset.status().message().find(kDsnEnv), std::string::npos);
}

}  // namespace
}  // namespace ladder::store
