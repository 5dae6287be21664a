#include "audit/sinks.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

namespace ladder {
namespace {

std::string dump_line(const nlohmann::json& record) {
  // replace: a stray invalid byte must never make a record unwritable.
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// ---- JSONL -----------------------------------------------------------------------------

class JsonlSink final : public AuditSink {
 public:
  JsonlSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~JsonlSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;

  Status write(const nlohmann::json& record) override {
    std::string line = dump_line(record);
    line.push_back('\n');
    std::lock_guard<std::mutex> lock(mutex_);  // guards fd_: one whole line at a time
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return make_error(ErrorCode::kUnavailable, "cannot write audit log '" + path_ + "': " + std::strerror(errno));
      }
      done += static_cast<std::size_t>(n);
    }
    return Status::ok_status();
  }

  Status flush() override {
    std::lock_guard<std::mutex> lock(mutex_);
    // Lines go straight to the kernel (no user-space buffer); flush makes them durable.
    if (::fdatasync(fd_) != 0 && errno != EINVAL && errno != EROFS)
      return make_error(ErrorCode::kUnavailable, "cannot flush audit log '" + path_ + "': " + std::strerror(errno));
    return Status::ok_status();
  }

 private:
  const std::string path_;
  std::mutex mutex_;
  int fd_;  // guarded by mutex_
};

// ---- SQLite ----------------------------------------------------------------------------

class SqliteSink final : public AuditSink {
 public:
  SqliteSink(std::string path, sqlite3* db, sqlite3_stmt* insert) : path_(std::move(path)), db_(db), insert_(insert) {}
  ~SqliteSink() override {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  SqliteSink(const SqliteSink&) = delete;
  SqliteSink& operator=(const SqliteSink&) = delete;

  Status write(const nlohmann::json& record) override {
    const std::string text = dump_line(record);
    std::lock_guard<std::mutex> lock(mutex_);  // guards insert_ (bind/step/reset)
    bind_field(1, record, "ts");
    bind_field(2, record, "request_id");
    bind_field(3, record, "task");
    bind_field(4, record, "route");
    bind_field(5, record, "reason");
    sqlite3_bind_text(insert_, 6, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    sqlite3_clear_bindings(insert_);
    if (rc != SQLITE_DONE)
      return make_error(ErrorCode::kUnavailable,
                        "cannot insert into audit database '" + path_ + "': " + sqlite3_errmsg(db_));
    return Status::ok_status();
  }

  Status flush() override { return Status::ok_status(); }  // each insert commits itself

 private:
  void bind_field(int index, const nlohmann::json& record, const char* key) {
    auto it = record.find(key);
    if (it == record.end() || !it->is_string()) {
      sqlite3_bind_null(insert_, index);
      return;
    }
    const auto& s = it->get_ref<const std::string&>();
    sqlite3_bind_text(insert_, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }

  const std::string path_;
  std::mutex mutex_;
  sqlite3* db_;
  sqlite3_stmt* insert_;  // guarded by mutex_
};

// ---- no sink ---------------------------------------------------------------------------

class DropSink final : public AuditSink {
 public:
  Status write(const nlohmann::json&) override { return Status::ok_status(); }
  Status flush() override { return Status::ok_status(); }
};

class ObservedSink final : public AuditSink {
 public:
  ObservedSink(std::unique_ptr<AuditSink> inner, std::function<void(bool)> on_result)
      : inner_(std::move(inner)), on_result_(std::move(on_result)) {}
  Status write(const nlohmann::json& record) override {
    Status s = inner_->write(record);
    on_result_(s.ok());
    return s;
  }
  Status flush() override { return inner_->flush(); }

 private:
  std::unique_ptr<AuditSink> inner_;
  std::function<void(bool)> on_result_;
};

Status sqlite_error(sqlite3* db, const std::string& path, const std::string& what) {
  std::string message =
      "cannot " + what + " audit database '" + path + "': " + (db ? sqlite3_errmsg(db) : "out of memory");
  return make_error(ErrorCode::kUnavailable, std::move(message));
}

constexpr const char* kSchemaSql =
    "CREATE TABLE IF NOT EXISTS decisions ("
    " id INTEGER PRIMARY KEY,"
    " ts TEXT,"
    " request_id TEXT,"
    " task TEXT,"
    " route TEXT,"
    " reason TEXT,"
    " record TEXT);"
    "CREATE INDEX IF NOT EXISTS decisions_ts ON decisions(ts);"
    "CREATE INDEX IF NOT EXISTS decisions_request_id ON decisions(request_id);"
    "CREATE INDEX IF NOT EXISTS decisions_task_route ON decisions(task, route);";

constexpr const char* kInsertSql =
    "INSERT INTO decisions(ts, request_id, task, route, reason, record) VALUES (?, ?, ?, ?, ?, ?)";

// True when the file at `path` is non-empty and its last byte is not a newline: a line
// torn by a crash or a full disk, which the next record must not be glued onto.
bool ends_mid_line(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  char last = '\n';
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && ::pread(fd, &last, 1, st.st_size - 1) != 1)
    last = '\n';
  ::close(fd);
  return last != '\n';
}

}  // namespace

Result<std::unique_ptr<AuditSink>> open_jsonl_sink(const std::string& path) {
  if (path.empty()) return make_error(ErrorCode::kInvalidArgument, "audit log path is empty");
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    const int err = errno;
    const ErrorCode code =
        (err == EISDIR || err == ENAMETOOLONG) ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable;
    return make_error(code, "cannot open audit log '" + path + "' for appending: " + std::strerror(err));
  }
  if (ends_mid_line(path)) {
    spdlog::warn("audit log '{}' ends in a torn line; new records start on a fresh line", path);
    if (::write(fd, "\n", 1) != 1) {
      const int err = errno;
      ::close(fd);
      return make_error(ErrorCode::kUnavailable, "cannot write audit log '" + path + "': " + std::strerror(err));
    }
  }
  return std::unique_ptr<AuditSink>(std::make_unique<JsonlSink>(path, fd));
}

Result<std::unique_ptr<AuditSink>> open_sqlite_sink(const std::string& path) {
  if (path.empty()) return make_error(ErrorCode::kInvalidArgument, "audit database path is empty");
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = sqlite_error(db, path, "open");
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL;", nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, kSchemaSql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    Status s = sqlite_error(db, path, "initialise");
    sqlite3_close(db);
    return s;
  }
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v2(db, kInsertSql, -1, &insert, nullptr) != SQLITE_OK) {
    Status s = sqlite_error(db, path, "prepare statements for");
    sqlite3_close(db);
    return s;
  }
  return std::unique_ptr<AuditSink>(std::make_unique<SqliteSink>(path, db, insert));
}

std::unique_ptr<AuditSink> observe_writes(std::unique_ptr<AuditSink> inner, std::function<void(bool ok)> on_result) {
  return std::make_unique<ObservedSink>(std::move(inner), std::move(on_result));
}

Result<std::unique_ptr<AuditSink>> make_audit_sink(const AuditConfig& cfg) {
  if (cfg.jsonl_path.empty()) return std::unique_ptr<AuditSink>(std::make_unique<DropSink>());
  return open_jsonl_sink(cfg.jsonl_path);
}

}  // namespace ladder
