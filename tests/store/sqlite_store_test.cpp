// The SQLite decision store: batching writer, migrations, retention, limits, bad files,
// import of old JSONL logs. Every test uses a real SQLite file in its own folder.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "replay_access_checks.h"
#include "store/batching_sink.h"
#include "store/import.h"
#include "store/store.h"

namespace ladder::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("ladder-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

json record(int n, const std::string& ts = "2024-01-01T00:00:00.000Z") {
  return {{"ts", ts},
          {"request_id", "req-" + std::to_string(n)},
          {"task", "classify_issue"},
          {"route", n % 2 ? "frontier" : "local"},
          {"reason", n % 2 ? json("confidence_low") : json(nullptr)},
          {"confidence", 0.5 + n * 0.001},
          {"total_ms", 10.0 * n}};
}

StoreConfig sqlite_config(const std::string& path) {
  StoreConfig cfg;
  cfg.kind = StoreConfig::Kind::kSqlite;
  cfg.path = path;
  return cfg;
}

// A second connection on the same file, for reading back and for holding its write lock.
class Db {
 public:
  explicit Db(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK); }
  ~Db() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
  }
  std::vector<std::string> column(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(stmt, 0);
      out.push_back(t ? reinterpret_cast<const char*>(t) : "<null>");
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::string one(const std::string& sql) {
    auto c = column(sql);
    return c.empty() ? "<none>" : c[0];
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqliteStoreTest, PolicySelectedStoreWritesRowsBesideTheJsonlLog) {
  TempDir dir;
  AuditConfig audit;
  audit.jsonl_path = dir.file("audit.jsonl");
  auto sink = make_audit_sink(audit, sqlite_config(dir.file("ladder.db")));
  ASSERT_TRUE(sink.ok()) << sink.status().to_string();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*sink)->write(record(i)).ok());
  Db db(dir.file("ladder.db"));  // read while the sink is open: every write is committed
  EXPECT_EQ(db.column("SELECT request_id FROM decisions ORDER BY id"),
            (std::vector<std::string>{"req-0", "req-1", "req-2"}));
  EXPECT_EQ(db.column("SELECT coalesce(reason, '<null>') FROM decisions ORDER BY id"),
            (std::vector<std::string>{"<null>", "confidence_low", "<null>"}));
  EXPECT_EQ(json::parse(db.one("SELECT record FROM decisions WHERE request_id = 'req-1'")), record(1));
  EXPECT_EQ(db.one("SELECT total_ms FROM decisions WHERE request_id = 'req-2'"), "20.0");
  EXPECT_EQ(db.one("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db.one("SELECT version FROM schema_version"), std::to_string(kLatestSchemaVersion));
  std::ifstream jsonl(audit.jsonl_path);
  int lines = 0;
  for (std::string line; std::getline(jsonl, line);) ++lines;
  EXPECT_EQ(lines, 3);
}

TEST(SqliteStoreTest, ConcurrentWritersAllCommittedInBatches) {
  TempDir dir;
  auto store = open_sqlite_store(sqlite_config(dir.file("ladder.db")));
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  BatchingOptions options;
  options.queue_capacity = 8;
  options.batch_size = 16;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  {
    BatchingSink sink(std::move(store).value(), options);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          Status s = sink.write(record(t * kPerThread + i));
          EXPECT_TRUE(s.ok()) << s.to_string();
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_LE(sink.batches(), kThreads * kPerThread);
    EXPECT_GE(sink.batches(), kThreads * kPerThread / options.batch_size);
  }
  Db db(dir.file("ladder.db"));
  const auto ids = db.column("SELECT request_id FROM decisions");
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

// The writer is held by another connection's write lock; the queue (capacity 1) fills.
struct HeldWriter {
  explicit HeldWriter(const std::string& path, bool fail_when_full) : db(path) {
    auto store = open_sqlite_store(sqlite_config(path));
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    BatchingOptions options;
    options.queue_capacity = 1;
    options.batch_size = 1;
    options.fail_when_full = fail_when_full;
    options.on_overflow = [this] { hook_calls.fetch_add(1); };
    sink = std::make_unique<BatchingSink>(std::move(store).value(), options);
    db.exec("BEGIN EXCLUSIVE;");
    first = std::async(std::launch::async, [this] { return sink->write(record(1)); });
    while (sink->writing() != 1) std::this_thread::yield();  // the writer holds record 1
    second = std::async(std::launch::async, [this] { return sink->write(record(2)); });
    while (sink->queued() != 1) std::this_thread::yield();  // record 2 waits in the queue
  }
  Db db;
  std::atomic<int> hook_calls{0};  // BatchingOptions::on_overflow (the serve metric's hook)
  std::unique_ptr<BatchingSink> sink;
  std::future<Status> first, second;
};

TEST(SqliteStoreTest, FullQueueFailsTheWriteWhenPolicySaysFailAndCountsIt) {
  TempDir dir;
  HeldWriter held(dir.file("ladder.db"), /*fail_when_full=*/true);
  Status third = held.sink->write(record(3));
  EXPECT_EQ(third.code(), ErrorCode::kUnavailable);
  EXPECT_NE(third.message().find("queue is full"), std::string::npos) << third.message();
  EXPECT_EQ(held.sink->overflows(), 1);
  EXPECT_EQ(held.hook_calls.load(), 1);
  held.db.exec("COMMIT;");
  EXPECT_TRUE(held.first.get().ok());
  EXPECT_TRUE(held.second.get().ok());
  EXPECT_EQ(held.db.column("SELECT request_id FROM decisions ORDER BY id"),
            (std::vector<std::string>{"req-1", "req-2"}));
}

TEST(SqliteStoreTest, FullQueueBlocksTheWriterByDefaultAndKeepsEveryRecord) {
  TempDir dir;
  HeldWriter held(dir.file("ladder.db"), /*fail_when_full=*/false);
  auto third = std::async(std::launch::async, [&] { return held.sink->write(record(3)); });
  while (held.sink->overflows() != 1) std::this_thread::yield();  // record 3 waits for room
  while (held.hook_calls.load() != 1) std::this_thread::yield();
  held.db.exec("COMMIT;");
  EXPECT_TRUE(held.first.get().ok());
  EXPECT_TRUE(held.second.get().ok());
  EXPECT_TRUE(third.get().ok());
  EXPECT_EQ(held.db.column("SELECT request_id FROM decisions ORDER BY id"),
            (std::vector<std::string>{"req-1", "req-2", "req-3"}));
}

// write_async (the server's event loop) does not wait for the commit: its callback runs
// on the writer thread once the record is durable; a queue full under fail_when_full
// refuses at once, in the caller's thread.
TEST(SqliteStoreTest, WriteAsyncCallsBackFromTheWriterAfterTheCommit) {
  TempDir dir;
  HeldWriter held(dir.file("ladder.db"), /*fail_when_full=*/true);
  bool refused_here = false;
  held.sink->write_async(record(3), [&](Status s) {
    EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << s.to_string();
    refused_here = true;
  });
  EXPECT_TRUE(refused_here) << "a full queue refuses in the caller's thread";
  held.db.exec("COMMIT;");
  ASSERT_TRUE(held.first.get().ok());
  ASSERT_TRUE(held.second.get().ok());

  // The database locked again: the record waits for the commit, its caller does not.
  held.db.exec("BEGIN EXCLUSIVE;");
  std::promise<std::pair<Status, std::thread::id>> called;
  auto result = called.get_future();
  held.sink->write_async(record(4), [&](Status s) { called.set_value({s, std::this_thread::get_id()}); });
  while (held.sink->writing() != 1) std::this_thread::yield();  // the writer holds record 4
  EXPECT_EQ(result.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the callback ran before the commit";
  held.db.exec("COMMIT;");
  auto [status, thread] = result.get();
  EXPECT_TRUE(status.ok()) << status.to_string();
  EXPECT_NE(thread, std::this_thread::get_id());
  EXPECT_EQ(held.db.column("SELECT request_id FROM decisions ORDER BY id"),
            (std::vector<std::string>{"req-1", "req-2", "req-4"}));
}

TEST(SqliteStoreTest, MigratesAVersion1DatabaseKeepingItsRows) {
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    Db old(path);  // the layout the first SQLite sink wrote: no schema_version table
    old.exec(
        "CREATE TABLE decisions (id INTEGER PRIMARY KEY, ts TEXT, request_id TEXT, task TEXT, route TEXT,"
        " reason TEXT, record TEXT);"
        "CREATE INDEX decisions_ts ON decisions(ts);"
        "CREATE INDEX decisions_request_id ON decisions(request_id);"
        "CREATE INDEX decisions_task_route ON decisions(task, route);");
    for (int i = 0; i < 2; ++i)
      old.exec("INSERT INTO decisions(ts, request_id, task, route, reason, record) VALUES ('2024-01-01', 'old-" +
               std::to_string(i) + "', 'classify_issue', 'local', NULL, '" + record(i).dump() + "');");
  }
  auto store = open_sqlite_store(sqlite_config(path));
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ(*(*store)->schema_version(), kLatestSchemaVersion);
  ASSERT_TRUE((*store)->write_batch({record(7)}).ok());
  EXPECT_EQ(*(*store)->count(), 3);
  Db db(path);
  EXPECT_EQ(db.column("SELECT request_id FROM decisions ORDER BY id"),
            (std::vector<std::string>{"old-0", "old-1", "req-7"}));
  EXPECT_EQ(db.one("SELECT total_ms FROM decisions WHERE request_id = 'old-1'"), "10.0");  // backfilled
  EXPECT_EQ(db.one("SELECT count(*) FROM reviews"), "0");
  EXPECT_EQ(db.one("SELECT count(*) FROM replay_access"), "0");  // version 4

  // Opening again applies nothing twice.
  store->reset();
  auto again = open_sqlite_store(sqlite_config(path));
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(*(*again)->count(), 3);
}

TEST(SqliteStoreTest, ReplayAccessesAreKeptAndListed) {
  TempDir dir;
  auto store = open_sqlite_store(sqlite_config(dir.file("ladder.db")));
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  check_replay_access(**store);
}

TEST(SqliteStoreTest, NewerSchemaIsRefused) {
  TempDir dir;
  const std::string path = dir.file("future.db");
  {
    Db db(path);
    db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99);");
  }
  auto store = open_sqlite_store(sqlite_config(path));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos) << store.status().message();
}

TEST(SqliteStoreTest, RetentionByAgeAndByCount) {
  TempDir dir;
  auto store = open_sqlite_store(sqlite_config(dir.file("ladder.db")));
  ASSERT_TRUE(store.ok());
  std::vector<json> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(record(i, "2000-01-01T00:00:00.000Z"));
  for (int i = 4; i < 10; ++i) batch.push_back(record(i, "2999-01-01T00:00:00.000Z"));
  ASSERT_TRUE((*store)->write_batch(batch).ok());
  auto aged = (*store)->apply_retention(30, 0);
  ASSERT_TRUE(aged.ok()) << aged.status().to_string();
  EXPECT_EQ(*aged, 4);
  auto counted = (*store)->apply_retention(0, 2);
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(*counted, 4);
  Db db(dir.file("ladder.db"));
  EXPECT_EQ(db.column("SELECT request_id FROM decisions ORDER BY id"), (std::vector<std::string>{"req-8", "req-9"}));
}

TEST(SqliteStoreTest, RetentionFromThePolicyRunsWhenTheStoreOpens) {
  TempDir dir;
  const std::string path = dir.file("ladder.db");
  {
    auto store = open_sqlite_store(sqlite_config(path));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->write_batch({record(0, "2000-01-01T00:00:00.000Z"), record(1)}).ok());
  }
  StoreConfig cfg = sqlite_config(path);
  cfg.max_age_days = 365;
  auto sink = make_audit_sink(AuditConfig{}, cfg);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->write(record(2, "2999-01-01T00:00:00.000Z")).ok());  // after the start-up pass
  Db db(path);
  EXPECT_EQ(db.column("SELECT request_id FROM decisions ORDER BY id"), (std::vector<std::string>{"req-2"}));
}

TEST(SqliteStoreTest, CorruptFileIsAClearError) {
  TempDir dir;
  const std::string path = dir.file("corrupt.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 512; ++i) out << "this is not an sqlite database ";
  }
  auto store = open_sqlite_store(sqlite_config(path));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("not a database"), std::string::npos) << store.status().message();
  auto sink = make_audit_sink(AuditConfig{}, sqlite_config(path));
  EXPECT_FALSE(sink.ok());
}

TEST(SqliteStoreTest, UnopenablePathIsAClearError) {
  TempDir dir;
  const std::string missing = dir.file("no-such-dir/ladder.db");
  auto store = open_sqlite_store(sqlite_config(missing));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(store.status().message().find(missing), std::string::npos) << store.status().message();
  EXPECT_EQ(open_sqlite_store(sqlite_config("")).status().code(), ErrorCode::kInvalidArgument);
}

TEST(SqliteStoreTest, FullStoreFailsWritesAndKeepsEarlierRecords) {
  TempDir dir;
  StoreConfig cfg = sqlite_config(dir.file("small.db"));
  cfg.max_size_mb = 1;
  auto sink = make_audit_sink(AuditConfig{}, cfg);
  ASSERT_TRUE(sink.ok()) << sink.status().to_string();
  const std::string payload(64 * 1024, 'x');
  int written = 0;
  Status last;
  for (int i = 0; i < 64; ++i) {
    json r = record(i);
    r["preview"] = payload;
    last = (*sink)->write(r);
    if (!last.ok()) break;
    ++written;
  }
  ASSERT_FALSE(last.ok()) << "1 MB never filled";
  EXPECT_EQ(last.code(), ErrorCode::kUnavailable);
  EXPECT_NE(last.message().find("full"), std::string::npos) << last.message();
  EXPECT_GT(written, 0);
  EXPECT_TRUE((*sink)->write(record(1000)).ok());  // small records still fit; the sink survives
  Db db(cfg.path);
  EXPECT_EQ(db.one("SELECT count(*) FROM decisions"), std::to_string(written + 1));
}

TEST(ImportTest, GoodLogIsImportedInBatches) {
  TempDir dir;
  auto store = open_sqlite_store(sqlite_config(dir.file("ladder.db")));
  ASSERT_TRUE(store.ok());
  std::string log;
  for (int i = 0; i < 7; ++i) log += record(i).dump() + "\n";
  log += "\n   \n";  // blank lines are skipped
  auto report = import_jsonl(**store, log, /*batch_size=*/3);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(report->imported, 7);
  EXPECT_EQ(*(*store)->count(), 7);
}

TEST(ImportTest, MalformedLinesAreNamedAndNothingIsImported) {
  TempDir dir;
  auto store = open_sqlite_store(sqlite_config(dir.file("ladder.db")));
  ASSERT_TRUE(store.ok());
  const std::string log = record(0).dump() + "\n" +                                     // 1 ok
                          "{not json\n" +                                               // 2
                          "[1, 2]\n" +                                                  // 3
                          "{\"task\": 5, \"ts\": \"x\"}\n" + record(1).dump() + "\n" +  // 4 bad, 5 ok
                          "{\"ts\": \"bad \xff byte\", \"task\": \"t\"}\n";             // 6
  auto report = import_jsonl(**store, log);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->problems.size(), 4u);
  EXPECT_EQ(report->problems[0].line, 2);
  EXPECT_EQ(report->problems[0].what, "not valid JSON");
  EXPECT_EQ(report->problems[1].line, 3);
  EXPECT_EQ(report->problems[2].line, 4);
  EXPECT_EQ(report->problems[3].line, 6);
  EXPECT_NE(report->problems[3].what.find("UTF-8"), std::string::npos);
  EXPECT_EQ(report->imported, 0);
  EXPECT_EQ(*(*store)->count(), 0);
}

}  // namespace
}  // namespace ladder::store
