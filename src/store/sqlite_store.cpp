#include <sqlite3.h>

#include <string>

#include "store/record_store.h"

namespace ladder::store {
namespace {

// Migrations in order: entry i brings a store from version i to i + 1. Version 1 is the
// layout of the first SQLite sink (a decisions table and no schema_version table).
constexpr const char* kMigrations[] = {
    // 0 -> 1
    "CREATE TABLE decisions ("
    " id INTEGER PRIMARY KEY,"
    " ts TEXT,"
    " request_id TEXT,"
    " task TEXT,"
    " route TEXT,"
    " reason TEXT,"
    " record TEXT);"
    "CREATE INDEX decisions_ts ON decisions(ts);"
    "CREATE INDEX decisions_request_id ON decisions(request_id);"
    "CREATE INDEX decisions_task_route ON decisions(task, route);",
    // 1 -> 2: columns the stats read without parsing records; human reviews.
    "ALTER TABLE decisions ADD COLUMN confidence REAL;"
    "ALTER TABLE decisions ADD COLUMN total_ms REAL;"
    "UPDATE decisions SET confidence = json_extract(record, '$.confidence'),"
    " total_ms = json_extract(record, '$.total_ms');"
    "CREATE TABLE reviews ("
    " decision_id INTEGER PRIMARY KEY REFERENCES decisions(id) ON DELETE CASCADE,"
    " label TEXT NOT NULL CHECK (label IN ('accept', 'defect')),"
    " note TEXT,"
    " ts TEXT NOT NULL);",
    // 2 -> 3: the tables PostgreSQL replicas share (admin state, quota counters); the
    // same layout here so both stores keep one version list.
    "CREATE TABLE admin_state ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL,"
    " updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
    " updated_by TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE quota_counters ("
    " client TEXT NOT NULL,"
    " metric TEXT NOT NULL,"
    " bucket INTEGER NOT NULL,"
    " replica TEXT NOT NULL,"
    " value REAL NOT NULL,"
    " PRIMARY KEY (client, metric, bucket, replica));",
    // 3 -> 4: every access to a sealed input (ladder replay), kept apart from the
    // decisions so retention never deletes it.
    "CREATE TABLE replay_access ("
    " id INTEGER PRIMARY KEY,"
    " request_id TEXT NOT NULL,"
    " who TEXT NOT NULL,"
    " why TEXT NOT NULL,"
    " ts TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " key_id TEXT NOT NULL);"
    "CREATE INDEX replay_access_request_id ON replay_access(request_id);",
};
static_assert(sizeof kMigrations / sizeof kMigrations[0] == kLatestSchemaVersion);

constexpr const char* kInsertSql =
    "INSERT INTO decisions(ts, request_id, task, route, reason, record, confidence, total_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

std::string dump_record(const nlohmann::json& record) {
  // replace: a stray invalid byte must never make a record unwritable.
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class SqliteStore final : public RecordStore {
 public:
  SqliteStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  ~SqliteStore() override {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status init(const StoreConfig& cfg) {
    if (Status s = exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;", "initialise"); !s.ok()) return s;
    if (Status s = exec(cfg.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;", "initialise");
        !s.ok())
      return s;
    if (cfg.max_size_mb > 0) {
      auto page_size = query_int("PRAGMA page_size");
      if (!page_size.ok()) return page_size.status();
      const std::int64_t pages = cfg.max_size_mb * 1024 * 1024 / std::max<std::int64_t>(*page_size, 1);
      if (Status s = exec("PRAGMA max_page_count=" + std::to_string(pages) + ";", "limit"); !s.ok()) return s;
    }
    if (Status s = migrate(); !s.ok()) return s;
    if (sqlite3_prepare_v2(db_, kInsertSql, -1, &insert_, nullptr) != SQLITE_OK) return error("prepare statements for");
    return Status::ok_status();
  }

  Status write_batch(const std::vector<nlohmann::json>& records) override {
    if (records.empty()) return Status::ok_status();
    if (Status s = exec("BEGIN IMMEDIATE;", "begin a transaction on"); !s.ok()) return s;
    for (const auto& record : records) {
      const std::string text = dump_record(record);
      bind_text(1, record, "ts");
      bind_text(2, record, "request_id");
      bind_text(3, record, "task");
      bind_text(4, record, "route");
      bind_text(5, record, "reason");
      sqlite3_bind_text(insert_, 6, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      bind_real(7, record, "confidence");
      bind_real(8, record, "total_ms");
      const int rc = sqlite3_step(insert_);
      sqlite3_reset(insert_);
      sqlite3_clear_bindings(insert_);
      if (rc != SQLITE_DONE) {
        Status s = error(rc == SQLITE_FULL ? "insert (the store is full) into" : "insert into");
        sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
        return s;
      }
    }
    if (Status s = exec("COMMIT;", "commit to"); !s.ok()) {
      sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
      return s;
    }
    return Status::ok_status();
  }

  Result<std::int64_t> apply_retention(int max_age_days, std::int64_t max_rows) override {
    std::int64_t deleted = 0;
    if (max_age_days > 0) {
      const std::string sql = "DELETE FROM decisions WHERE ts < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-" +
                              std::to_string(max_age_days) + " days');";
      if (Status s = exec(sql, "apply retention to"); !s.ok()) return s;
      deleted += sqlite3_changes64(db_);
    }
    if (max_rows > 0) {
      const std::string sql =
          "DELETE FROM decisions WHERE id <= (SELECT id FROM decisions ORDER BY id DESC LIMIT 1 OFFSET " +
          std::to_string(max_rows) + ");";
      if (Status s = exec(sql, "apply retention to"); !s.ok()) return s;
      deleted += sqlite3_changes64(db_);
    }
    return deleted;
  }

  Result<std::int64_t> count() override { return query_int("SELECT count(*) FROM decisions"); }

  Result<std::vector<StoredDecision>> query(const DecisionFilter& filter) override {
    const char* sql =
        "SELECT d.id, d.record, coalesce(r.label, ''), coalesce(r.note, '') FROM decisions d"
        " LEFT JOIN reviews r ON r.decision_id = d.id"
        " WHERE (?1 = '' OR d.ts >= ?1) AND (?2 = '' OR d.task = ?2) AND (?3 = 0 OR d.id = ?3)"
        " AND (?4 = '' OR d.request_id = ?4) ORDER BY d.id";
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) return error("read");
    sqlite3_bind_text(stmt, 1, filter.since_ts.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, filter.task.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 3, filter.id);
    sqlite3_bind_text(stmt, 4, filter.request_id.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<StoredDecision> out;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      StoredDecision d;
      d.id = sqlite3_column_int64(stmt, 0);
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
      d.record = nlohmann::json::parse(text ? text : "", nullptr, false);
      if (d.record.is_discarded()) d.record = nlohmann::json::object();
      d.review = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2));
      d.review_note = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      out.push_back(std::move(d));
    }
    if (rc != SQLITE_DONE) {
      Status s = error("read");
      sqlite3_finalize(stmt);
      return s;
    }
    sqlite3_finalize(stmt);
    return out;
  }

  Status put_review(std::int64_t id, const std::string& label, const std::string& note,
                    const std::string& ts) override {
    auto exists = query_int("SELECT count(*) FROM decisions WHERE id = " + std::to_string(id));
    if (!exists.ok()) return exists.status();
    if (*exists == 0) return make_error(ErrorCode::kNotFound, "no decision with id " + std::to_string(id));
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO reviews(decision_id, label, note, ts) VALUES (?, ?, ?, ?)", -1,
                           &stmt, nullptr) != SQLITE_OK)
      return error("prepare a review for");
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_text(stmt, 2, label.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 3, note.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 4, ts.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return error("write a review to");
    return Status::ok_status();
  }

  Result<int> schema_version() override {
    auto v = query_int("SELECT version FROM schema_version");
    if (!v.ok()) return v.status();
    return static_cast<int>(*v);
  }

  Result<std::int64_t> add_replay_access(const ReplayAccess& a) override {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "INSERT INTO replay_access(request_id, who, why, ts, outcome, key_id)"
                           " VALUES (?, ?, ?, ?, ?, ?)",
                           -1, &stmt, nullptr) != SQLITE_OK)
      return error("prepare a replay access for");
    const std::string* values[] = {&a.request_id, &a.who, &a.why, &a.ts, &a.outcome, &a.key_id};
    for (int i = 0; i < 6; ++i) sqlite3_bind_text(stmt, i + 1, values[i]->c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return error("record a replay access in");
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Status set_replay_outcome(std::int64_t id, const std::string& outcome) override {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "UPDATE replay_access SET outcome = ? WHERE id = ?", -1, &stmt, nullptr) != SQLITE_OK)
      return error("prepare a replay outcome for");
    sqlite3_bind_text(stmt, 1, outcome.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, id);
    const int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return error("record a replay outcome in");
    if (sqlite3_changes(db_) == 0)
      return make_error(ErrorCode::kNotFound, "no replay access with id " + std::to_string(id));
    return Status::ok_status();
  }

  Result<std::vector<ReplayAccess>> replay_accesses(const std::string& request_id) override {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "SELECT id, request_id, who, why, ts, outcome, key_id FROM replay_access"
                           " WHERE (?1 = '' OR request_id = ?1) ORDER BY id",
                           -1, &stmt, nullptr) != SQLITE_OK)
      return error("read");
    sqlite3_bind_text(stmt, 1, request_id.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<ReplayAccess> out;
    int rc;
    auto text = [&](int col) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
      return std::string(t ? t : "");
    };
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
      out.push_back({sqlite3_column_int64(stmt, 0), text(1), text(2), text(3), text(4), text(5), text(6)});
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return error("read");
    return out;
  }

 private:
  Status migrate() {
    if (Status s = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", "initialise"); !s.ok())
      return s;
    auto rows = query_int("SELECT count(*) FROM schema_version");
    if (!rows.ok()) return rows.status();
    std::int64_t version = 0;
    if (*rows == 0) {
      auto legacy = query_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'decisions'");
      if (!legacy.ok()) return legacy.status();
      version = *legacy > 0 ? 1 : 0;  // a decisions table without a version is the v1 layout
      if (Status s =
              exec("INSERT INTO schema_version(version) VALUES (" + std::to_string(version) + ");", "initialise");
          !s.ok())
        return s;
    } else {
      auto v = query_int("SELECT version FROM schema_version");
      if (!v.ok()) return v.status();
      version = *v;
    }
    if (version > kLatestSchemaVersion)
      return make_error(ErrorCode::kConfigInvalid, "audit database '" + path_ + "' has schema version " +
                                                       std::to_string(version) + ", newer than this ladder's " +
                                                       std::to_string(kLatestSchemaVersion));
    for (std::int64_t v = version; v < kLatestSchemaVersion; ++v) {
      const std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[v] +
                              "UPDATE schema_version SET version = " + std::to_string(v + 1) + "; COMMIT;";
      if (Status s = exec(sql, "migrate (to schema version " + std::to_string(v + 1) + ")"); !s.ok()) {
        sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
        return s;
      }
    }
    return Status::ok_status();
  }

  Status exec(const std::string& sql, const std::string& what) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return error(what);
    return Status::ok_status();
  }

  Result<std::int64_t> query_int(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return error("read");
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
      Status s = error("read");
      sqlite3_finalize(stmt);
      return s;
    }
    const std::int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
  }

  Status error(const std::string& what) {
    return make_error(ErrorCode::kUnavailable, "cannot " + what + " audit database '" + path_ +
                                                   "': " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
  }

  void bind_text(int index, const nlohmann::json& record, const char* key) {
    auto it = record.find(key);
    if (it == record.end() || !it->is_string()) {
      sqlite3_bind_null(insert_, index);
      return;
    }
    const auto& s = it->get_ref<const std::string&>();
    sqlite3_bind_text(insert_, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }

  void bind_real(int index, const nlohmann::json& record, const char* key) {
    auto it = record.find(key);
    if (it == record.end() || !it->is_number()) {
      sqlite3_bind_null(insert_, index);
      return;
    }
    sqlite3_bind_double(insert_, index, it->get<double>());
  }

  const std::string path_;
  sqlite3* db_;
  sqlite3_stmt* insert_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<RecordStore>> open_sqlite_store(const StoreConfig& cfg) {
  if (cfg.path.empty()) return make_error(ErrorCode::kInvalidArgument, "audit database path is empty");
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(cfg.path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    Status s = make_error(ErrorCode::kUnavailable, "cannot open audit database '" + cfg.path +
                                                       "': " + (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 15000);  // another process (a reader, an import) holding the lock
  auto store = std::make_unique<SqliteStore>(cfg.path, db);
  if (Status s = store->init(cfg); !s.ok()) return s;
  return std::unique_ptr<RecordStore>(std::move(store));
}

}  // namespace ladder::store
