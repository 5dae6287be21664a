// The PostgreSQL decision store (libpq): the same versions and tables as SQLite, in
// PostgreSQL's dialect; one connection used by the one writer thread.
#include <libpq-fe.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "store/record_store.h"

namespace ladder::store {
namespace {

// Entry i brings a store from version i to i + 1 (see sqlite_store.cpp for the same list).
constexpr const char* kMigrations[] = {
    // 0 -> 1
    "CREATE TABLE decisions ("
    " id BIGSERIAL PRIMARY KEY,"
    " ts TEXT,"
    " request_id TEXT,"
    " task TEXT,"
    " route TEXT,"
    " reason TEXT,"
    " record TEXT);"
    "CREATE INDEX decisions_ts ON decisions(ts);"
    "CREATE INDEX decisions_request_id ON decisions(request_id);"
    "CREATE INDEX decisions_task_route ON decisions(task, route);",
    // 1 -> 2
    "ALTER TABLE decisions ADD COLUMN confidence DOUBLE PRECISION;"
    "ALTER TABLE decisions ADD COLUMN total_ms DOUBLE PRECISION;"
    "UPDATE decisions SET confidence = (record::jsonb->>'confidence')::double precision,"
    " total_ms = (record::jsonb->>'total_ms')::double precision;"
    "CREATE TABLE reviews ("
    " decision_id BIGINT PRIMARY KEY REFERENCES decisions(id) ON DELETE CASCADE,"
    " label TEXT NOT NULL CHECK (label IN ('accept', 'defect')),"
    " note TEXT,"
    " ts TEXT NOT NULL);",
    // 2 -> 3: state shared by replicas of ladder serve (src/store/shared_state.cpp).
    "CREATE TABLE admin_state ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL,"
    " updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " updated_by TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE quota_counters ("
    " client TEXT NOT NULL,"
    " metric TEXT NOT NULL,"
    " bucket BIGINT NOT NULL,"
    " replica TEXT NOT NULL,"
    " value DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (client, metric, bucket, replica));",
    // 3 -> 4: every access to a sealed input (ladder replay).
    "CREATE TABLE replay_access ("
    " id BIGSERIAL PRIMARY KEY,"
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
    " VALUES ($1, $2, $3, $4, $5, $6, $7::double precision, $8::double precision)";

std::string dump_record(const nlohmann::json& record) {
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A text field of the record, or nullopt (SQL NULL) when absent or not a string.
std::optional<std::string> text_field(const nlohmann::json& record, const char* key) {
  auto it = record.find(key);
  if (it == record.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}
std::optional<std::string> number_field(const nlohmann::json& record, const char* key) {
  auto it = record.find(key);
  if (it == record.end() || !it->is_number()) return std::nullopt;
  return it->dump();
}

class PostgresStore final : public RecordStore {
 public:
  PostgresStore(std::string where, PGconn* conn) : where_(std::move(where)), conn_(conn) {}
  ~PostgresStore() override { PQfinish(conn_); }
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  Status migrate() {
    // One ladder at a time migrates: an advisory lock for the session.
    if (Status s = exec("SELECT pg_advisory_lock(7466311);", "lock"); !s.ok()) return s;
    Status s = migrate_locked();
    // A failed unlock leaves the lock to the session's end; the migration's status is the answer.
    (void)exec("SELECT pg_advisory_unlock(7466311);", "unlock");
    return s;
  }

  Status write_batch(const std::vector<nlohmann::json>& records) override {
    if (records.empty()) return Status::ok_status();
    // A connection the server dropped (a restart, a failover): a new one for this batch.
    if (PQstatus(conn_) != CONNECTION_OK) PQreset(conn_);
    if (Status s = exec("BEGIN;", "begin a transaction on"); !s.ok()) {
      // libpq may report the connection OK until its next call: a BEGIN that fails gets
      // one new connection either way.
      PQreset(conn_);
      if (Status again = exec("BEGIN;", "begin a transaction on"); !again.ok()) return again;
    }
    for (const auto& record : records) {
      std::optional<std::string> values[8] = {text_field(record, "ts"),           text_field(record, "request_id"),
                                              text_field(record, "task"),         text_field(record, "route"),
                                              text_field(record, "reason"),       dump_record(record),
                                              number_field(record, "confidence"), number_field(record, "total_ms")};
      const char* params[8];
      for (int i = 0; i < 8; ++i) params[i] = values[i] ? values[i]->c_str() : nullptr;
      PGresult* r = PQexecParams(conn_, kInsertSql, 8, nullptr, params, nullptr, nullptr, 0);
      const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (!ok) {
        Status s = error("insert into");
        (void)exec("ROLLBACK;", "roll back");  // the first error is the one reported
        return s;
      }
    }
    if (Status s = exec("COMMIT;", "commit to"); !s.ok()) return s;
    return Status::ok_status();
  }

  Result<std::int64_t> apply_retention(int max_age_days, std::int64_t max_rows) override {
    std::int64_t deleted = 0;
    if (max_age_days > 0) {
      auto n = exec_count("DELETE FROM decisions WHERE ts < to_char((now() at time zone 'utc') - interval '" +
                              std::to_string(max_age_days) + " days', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"');",
                          "apply retention to");
      if (!n.ok()) return n.status();
      deleted += *n;
    }
    if (max_rows > 0) {
      auto n =
          exec_count("DELETE FROM decisions WHERE id <= (SELECT id FROM decisions ORDER BY id DESC LIMIT 1 OFFSET " +
                         std::to_string(max_rows) + ");",
                     "apply retention to");
      if (!n.ok()) return n.status();
      deleted += *n;
    }
    return deleted;
  }

  Result<std::int64_t> count() override { return query_int("SELECT count(*) FROM decisions"); }
  Result<std::vector<StoredDecision>> query(const DecisionFilter& filter) override {
    const char* sql =
        "SELECT d.id, d.record, coalesce(r.label, ''), coalesce(r.note, '') FROM decisions d"
        " LEFT JOIN reviews r ON r.decision_id = d.id"
        " WHERE ($1 = '' OR d.ts >= $1) AND ($2 = '' OR d.task = $2) AND ($3::bigint = 0 OR d.id = $3::bigint)"
        " AND ($4 = '' OR d.request_id = $4) ORDER BY d.id";
    const std::string id = std::to_string(filter.id);
    const char* params[4] = {filter.since_ts.c_str(), filter.task.c_str(), id.c_str(), filter.request_id.c_str()};
    PGresult* r = PQexecParams(conn_, sql, 4, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      PQclear(r);
      return error("read");
    }
    std::vector<StoredDecision> out;
    for (int i = 0; i < PQntuples(r); ++i) {
      StoredDecision d;
      d.id = std::strtoll(PQgetvalue(r, i, 0), nullptr, 10);
      d.record = nlohmann::json::parse(PQgetvalue(r, i, 1), nullptr, false);
      if (d.record.is_discarded()) d.record = nlohmann::json::object();
      d.review = PQgetvalue(r, i, 2);
      d.review_note = PQgetvalue(r, i, 3);
      out.push_back(std::move(d));
    }
    PQclear(r);
    return out;
  }

  Status put_review(std::int64_t id, const std::string& label, const std::string& note,
                    const std::string& ts) override {
    auto exists = query_int("SELECT count(*) FROM decisions WHERE id = " + std::to_string(id));
    if (!exists.ok()) return exists.status();
    if (*exists == 0) return make_error(ErrorCode::kNotFound, "no decision with id " + std::to_string(id));
    const std::string id_text = std::to_string(id);
    const char* params[4] = {id_text.c_str(), label.c_str(), note.c_str(), ts.c_str()};
    PGresult* r = PQexecParams(conn_,
                               "INSERT INTO reviews(decision_id, label, note, ts) VALUES ($1::bigint, $2, $3, $4)"
                               " ON CONFLICT (decision_id) DO UPDATE SET label = $2, note = $3, ts = $4",
                               4, nullptr, params, nullptr, nullptr, 0);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) return error("write a review to");
    return Status::ok_status();
  }

  Result<int> schema_version() override {
    auto v = query_int("SELECT version FROM schema_version");
    if (!v.ok()) return v.status();
    return static_cast<int>(*v);
  }

  Result<std::int64_t> add_replay_access(const ReplayAccess& a) override {
    const char* params[6] = {a.request_id.c_str(), a.who.c_str(),     a.why.c_str(),
                             a.ts.c_str(),         a.outcome.c_str(), a.key_id.c_str()};
    PGresult* r = PQexecParams(conn_,
                               "INSERT INTO replay_access(request_id, who, why, ts, outcome, key_id)"
                               " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                               6, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
      PQclear(r);
      return error("record a replay access in");
    }
    const std::int64_t id = std::strtoll(PQgetvalue(r, 0, 0), nullptr, 10);
    PQclear(r);
    return id;
  }

  Status set_replay_outcome(std::int64_t id, const std::string& outcome) override {
    const std::string id_text = std::to_string(id);
    const char* params[2] = {outcome.c_str(), id_text.c_str()};
    PGresult* r = PQexecParams(conn_, "UPDATE replay_access SET outcome = $1 WHERE id = $2::bigint", 2, nullptr, params,
                               nullptr, nullptr, 0);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string changed = ok ? PQcmdTuples(r) : "";
    PQclear(r);
    if (!ok) return error("record a replay outcome in");
    if (changed == "0") return make_error(ErrorCode::kNotFound, "no replay access with id " + id_text);
    return Status::ok_status();
  }

  Result<std::vector<ReplayAccess>> replay_accesses(const std::string& request_id) override {
    const char* params[1] = {request_id.c_str()};
    PGresult* r = PQexecParams(conn_,
                               "SELECT id, request_id, who, why, ts, outcome, key_id FROM replay_access"
                               " WHERE ($1 = '' OR request_id = $1) ORDER BY id",
                               1, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      PQclear(r);
      return error("read");
    }
    std::vector<ReplayAccess> out;
    for (int i = 0; i < PQntuples(r); ++i)
      out.push_back({std::strtoll(PQgetvalue(r, i, 0), nullptr, 10), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                     PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), PQgetvalue(r, i, 6)});
    PQclear(r);
    return out;
  }

 private:
  Status migrate_locked() {
    if (Status s = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", "initialise"); !s.ok())
      return s;
    auto rows = query_int("SELECT count(*) FROM schema_version");
    if (!rows.ok()) return rows.status();
    std::int64_t version = 0;
    if (*rows == 0) {
      auto legacy = query_int("SELECT count(*) FROM information_schema.tables WHERE table_name = 'decisions'");
      if (!legacy.ok()) return legacy.status();
      version = *legacy > 0 ? 1 : 0;
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
      return make_error(ErrorCode::kConfigInvalid, "decision store " + where_ + " has schema version " +
                                                       std::to_string(version) + ", newer than this ladder's " +
                                                       std::to_string(kLatestSchemaVersion));
    for (std::int64_t v = version; v < kLatestSchemaVersion; ++v) {
      const std::string sql = std::string("BEGIN;") + kMigrations[v] +
                              "UPDATE schema_version SET version = " + std::to_string(v + 1) + "; COMMIT;";
      if (Status s = exec(sql, "migrate (to schema version " + std::to_string(v + 1) + ")"); !s.ok()) {
        (void)exec("ROLLBACK;", "roll back");  // the first error is the one reported
        return s;
      }
    }
    return Status::ok_status();
  }

  Status exec(const std::string& sql, const std::string& what) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const auto st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error(what);
    return Status::ok_status();
  }

  Result<std::int64_t> exec_count(const std::string& sql, const std::string& what) {
    PGresult* r = PQexec(conn_, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      PQclear(r);
      return error(what);
    }
    const std::int64_t n = std::strtoll(PQcmdTuples(r), nullptr, 10);
    PQclear(r);
    return n;
  }

  Result<std::int64_t> query_int(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
      PQclear(r);
      return error("read");
    }
    const std::int64_t v = std::strtoll(PQgetvalue(r, 0, 0), nullptr, 10);
    PQclear(r);
    return v;
  }

  Status error(const std::string& what) {
    std::string message = PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return make_error(ErrorCode::kUnavailable, "cannot " + what + " decision store " + where_ + ": " + message);
  }

  const std::string where_;
  PGconn* conn_;
};

}  // namespace

Result<std::unique_ptr<RecordStore>> open_postgres_store(const StoreConfig& cfg) {
  const char* dsn = cfg.dsn_env.empty() ? nullptr : std::getenv(cfg.dsn_env.c_str());
  if (!dsn || !*dsn)
    return make_error(ErrorCode::kConfigInvalid,
                      "store.dsn_env: environment variable " + cfg.dsn_env + " is unset or empty");
  // The DSN may hold a password: messages name the variable, never its value.
  const std::string where = "(postgres, from $" + cfg.dsn_env + ")";
  PGconn* conn = PQconnectdb(dsn);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn) : "out of memory";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    PQfinish(conn);
    return make_error(ErrorCode::kUnavailable, "cannot connect to decision store " + where + ": " + message);
  }
  PQexec(conn, "SET client_min_messages = warning;");
  auto store = std::make_unique<PostgresStore>(where, conn);
  if (Status s = store->migrate(); !s.ok()) return s;
  return std::unique_ptr<RecordStore>(std::move(store));
}

}  // namespace ladder::store
