#include "store/shared_state.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstdlib>
#include <tuple>

#include <spdlog/spdlog.h>

namespace ladder::store {
namespace {

using std::chrono::milliseconds;
constexpr const char* kChannel = "ladder_admin";
constexpr const char* kTaskPrefix = "kill_task:";
constexpr const char* kApprovalKey = "approval_key";
constexpr auto kMaxBackoff = milliseconds(5000);
constexpr int kPruneEveryTicks = 240;

std::string pg_message(PGconn* c) {
  std::string message = c ? PQerrorMessage(c) : "out of memory";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// A connection with a short connect timeout and TCP keepalives, so a server that went
// away silently is noticed in seconds; the caller checks PQstatus.
PGconn* connect(const std::string& dsn) {
  const char* keys[] = {
      "dbname", "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", nullptr};
  const char* values[] = {dsn.c_str(), "3", "1", "5", "2", "2", nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  if (c && PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, "SET client_min_messages = warning;"));
  return c;
}

bool exec_ok(PGconn* c, const char* sql) {
  PGresult* r = PQexec(c, sql);
  const auto st = PQresultStatus(r);
  PQclear(r);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

bool exec_params_ok(PGconn* c, const char* sql, int n, const char* const* params) {
  PGresult* r = PQexecParams(c, sql, n, nullptr, params, nullptr, nullptr, 0);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  return ok;
}

// A task name as the HTTP edge accepts it (docs/server.md): 1..128 of [A-Za-z0-9_.:-].
bool valid_task_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '.' || ch == ':' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

// The admin state in the rows of admin_state; a row that does not parse is skipped and
// counted, never applied.
Result<SharedAdminState> read_admin(PGconn* c, const std::string& where) {
  PGresult* r = PQexec(c, "SELECT key, value FROM admin_state ORDER BY key");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    return make_error(ErrorCode::kUnavailable, "cannot read the admin state from " + where + ": " + pg_message(c));
  }
  SharedAdminState state;
  for (int i = 0; i < PQntuples(r); ++i) {
    const std::string key = PQgetvalue(r, i, 0);
    if (key == kApprovalKey) continue;  // a secret, not a switch
    const auto value = nlohmann::json::parse(PQgetvalue(r, i, 1), nullptr, false);
    bool ok = false;
    if (key == "kill_all" && value.is_boolean()) {
      state.kill_all = value.get<bool>();
      ok = true;
    } else if (key == "shadow" && (value.is_boolean() || value.is_null())) {
      if (value.is_boolean()) state.shadow = value.get<bool>();
      ok = true;
    } else if (key.rfind(kTaskPrefix, 0) == 0 && value.is_boolean()) {
      const std::string task = key.substr(std::string(kTaskPrefix).size());
      if (valid_task_name(task)) {
        if (value.get<bool>()) state.kill_tasks.insert(task);
        ok = true;
      }
    }
    if (!ok) ++state.malformed_rows;
  }
  PQclear(r);
  return state;
}

}  // namespace

SharedState::SharedState(std::string dsn, std::string where, std::string replica, milliseconds sync_interval)
    : dsn_(std::move(dsn)), where_(std::move(where)), replica_(std::move(replica)), sync_interval_(sync_interval) {}

Result<std::unique_ptr<SharedState>> SharedState::open(const std::string& dsn_env, std::string replica,
                                                       milliseconds sync_interval) {
  const char* dsn = dsn_env.empty() ? nullptr : std::getenv(dsn_env.c_str());
  if (!dsn || !*dsn)
    return make_error(ErrorCode::kConfigInvalid,
                      "store.dsn_env: environment variable " + dsn_env + " is unset or empty");
  std::unique_ptr<SharedState> s(
      new SharedState(dsn, "shared state (postgres, from $" + dsn_env + ")", std::move(replica), sync_interval));
  s->writer_ = connect(s->dsn_);
  if (PQstatus(s->writer_) != CONNECTION_OK)
    return make_error(ErrorCode::kUnavailable, "cannot connect to " + s->where_ + ": " + pg_message(s->writer_));
  if (auto state = s->load_admin(); !state.ok()) return state.status();
  // The first replica creates the approval key (256 bits from the server's strong random
  // source through gen_random_uuid); the others read the same row.
  const char* params[1] = {s->replica_.c_str()};
  const bool created = exec_params_ok(
      s->writer_,
      "INSERT INTO admin_state(key, value, updated_by) VALUES ('approval_key',"
      " encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text)::bytea),"
      " 'hex'), $1) ON CONFLICT (key) DO NOTHING",
      1, params);
  PGresult* r = PQexec(s->writer_, "SELECT value FROM admin_state WHERE key = 'approval_key'");
  if (created && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) s->approval_key_ = PQgetvalue(r, 0, 0);
  PQclear(r);
  if (s->approval_key_.size() < 32)
    return make_error(ErrorCode::kUnavailable,
                      "cannot read the shared approval key from " + s->where_ + ": " + pg_message(s->writer_));
  return s;
}

SharedState::~SharedState() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_flag_ = true;
  stop_cv_.notify_all();
  if (listener_.joinable()) listener_.join();
  if (sync_.joinable()) sync_.join();
  PQfinish(writer_);
}

bool SharedState::wait_for(milliseconds d) {
  std::unique_lock lock(stop_mu_);
  return !stop_cv_.wait_for(lock, d, [this] { return stopping_; });
}

Result<SharedAdminState> SharedState::load_admin() {
  std::lock_guard lock(writer_mu_);
  if (PQstatus(writer_) != CONNECTION_OK) PQreset(writer_);
  return read_admin(writer_, where_);
}

void SharedState::start(Hooks hooks) {
  hooks_ = std::move(hooks);
  listener_ = std::thread([this] { listen_loop(); });
  sync_ = std::thread([this] { sync_loop(); });
}

Status SharedState::write_admin(const std::string& key, const std::optional<std::string>& value, bool clear_tasks) {
  std::lock_guard lock(writer_mu_);
  for (int attempt = 0;; ++attempt) {
    if (PQstatus(writer_) != CONNECTION_OK) PQreset(writer_);
    bool ok = exec_ok(writer_, "BEGIN;");
    if (ok && clear_tasks) ok = exec_ok(writer_, "DELETE FROM admin_state WHERE key LIKE 'kill\\_task:%';");
    if (ok && value) {
      const char* params[3] = {key.c_str(), value->c_str(), replica_.c_str()};
      ok = exec_params_ok(writer_,
                          "INSERT INTO admin_state(key, value, updated_by) VALUES ($1, $2, $3)"
                          " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now(),"
                          " updated_by = excluded.updated_by",
                          3, params);
    } else if (ok) {
      const char* params[1] = {key.c_str()};
      ok = exec_params_ok(writer_, "DELETE FROM admin_state WHERE key = $1", 1, params);
    }
    // NOTIFY is delivered at commit, so a listener that reloads sees this row.
    if (ok) ok = exec_ok(writer_, "NOTIFY ladder_admin;") && exec_ok(writer_, "COMMIT;");
    if (ok) return {};
    const std::string message = pg_message(writer_);
    exec_ok(writer_, "ROLLBACK;");
    // A connection lost since the last write (the server restarted): once more on a new one.
    if (attempt == 0 && PQstatus(writer_) != CONNECTION_OK) continue;
    return make_error(ErrorCode::kUnavailable, "cannot write the admin state to " + where_ + ": " + message);
  }
}

Status SharedState::set_kill_switch(bool enabled, const std::optional<std::string>& task) {
  if (!task) return write_admin("kill_all", enabled ? "true" : "false", !enabled);  // off clears the tasks too
  if (enabled) return write_admin(kTaskPrefix + *task, "true", false);
  return write_admin(kTaskPrefix + *task, std::nullopt, false);
}

Status SharedState::set_shadow(std::optional<bool> enabled) {
  return write_admin("shadow", enabled ? (*enabled ? "true" : "false") : "null", false);
}

nlohmann::json SharedState::status() const {
  static const char* kSync[] = {"idle", "ok", "failing"};
  return {{"replica", replica_},
          {"listener", listener_up_ ? "up" : "down"},
          {"listener_reconnects", reconnects_.load()},
          {"admin_loads", admin_loads_.load()},
          {"malformed_admin_rows", malformed_.load()},
          {"quota_sync", kSync[sync_state_.load()]},
          {"quota_syncs", syncs_.load()}};
}

void SharedState::listen_loop() {
  int failures = 0;
  bool ever_up = false;
  auto set_up = [this](bool up) {
    if (listener_up_.exchange(up) != up && hooks_.on_listener) hooks_.on_listener(up);
  };
  // Reads the state on `c` and applies it; false when the read failed.
  auto reload = [this](PGconn* c) {
    auto state = read_admin(c, where_);
    if (!state.ok()) return false;
    ++admin_loads_;
    malformed_ = state->malformed_rows;
    if (state->malformed_rows > 0)
      spdlog::warn("shared state: {} malformed admin_state rows skipped", state->malformed_rows);
    if (hooks_.on_admin) hooks_.on_admin(*state);
    return true;
  };
  while (!stop_flag_) {
    PGconn* c = connect(dsn_);
    // LISTEN before the load: a change committed between the two is then not missed.
    if (PQstatus(c) != CONNECTION_OK || !exec_ok(c, "LISTEN ladder_admin;") || !reload(c)) {
      if (failures == 0) spdlog::warn("shared state: admin listener down ({}); serving the last state", pg_message(c));
      PQfinish(c);
      set_up(false);
      const auto backoff = std::min<milliseconds>(kMaxBackoff, milliseconds(100) * (1 << std::min(failures, 6)));
      ++failures;
      if (!wait_for(backoff)) return;
      continue;
    }
    if (ever_up) {
      ++reconnects_;
      spdlog::info("shared state: admin listener reconnected");
    }
    ever_up = true;
    failures = 0;
    set_up(true);
    while (!stop_flag_) {
      pollfd p{PQsocket(c), POLLIN, 0};
      const int n = ::poll(&p, 1, 200);  // 200 ms: how soon a stop is noticed
      if (n < 0 && errno != EINTR) break;
      if (n <= 0) continue;
      if (!PQconsumeInput(c)) break;  // the connection is gone
      bool notified = false;
      while (PGnotify* note = PQnotifies(c)) {
        notified = notified || std::string(note->relname) == kChannel;
        PQfreemem(note);
      }
      if (notified && !reload(c)) break;
    }
    if (!stop_flag_) spdlog::warn("shared state: admin listener lost its connection ({})", pg_message(c));
    PQfinish(c);
    set_up(false);
  }
}

void SharedState::sync_loop() {
  using Key = std::tuple<std::string, std::string, std::int64_t>;
  std::map<Key, double> unflushed;  // kept until a flush committed
  PGconn* c = nullptr;
  auto flush_and_read = [&]() -> bool {
    if (!c || PQstatus(c) != CONNECTION_OK) {
      PQfinish(c);
      c = connect(dsn_);
      if (PQstatus(c) != CONNECTION_OK) return false;
    }
    if (!unflushed.empty()) {
      bool ok = exec_ok(c, "BEGIN;");
      for (auto it = unflushed.begin(); ok && it != unflushed.end(); ++it) {
        const auto& [client, metric, bucket] = it->first;
        const std::string b = std::to_string(bucket);
        const std::string v = nlohmann::json(it->second).dump();
        const char* params[5] = {client.c_str(), metric.c_str(), b.c_str(), replica_.c_str(), v.c_str()};
        ok = exec_params_ok(c,
                            "INSERT INTO quota_counters(client, metric, bucket, replica, value)"
                            " VALUES ($1, $2, $3::bigint, $4, $5::double precision)"
                            " ON CONFLICT (client, metric, bucket, replica)"
                            " DO UPDATE SET value = quota_counters.value + excluded.value",
                            5, params);
      }
      if (!ok || !exec_ok(c, "COMMIT;")) {
        exec_ok(c, "ROLLBACK;");
        return false;
      }
      unflushed.clear();
    }
    const auto now_s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string since = std::to_string(now_s - 60), today = std::to_string(now_s / 86400);
    const char* params[3] = {replica_.c_str(), since.c_str(), today.c_str()};
    PGresult* r =
        PQexecParams(c,
                     "SELECT client, metric, sum(value) FROM quota_counters WHERE replica <> $1 AND"
                     " ((metric <> 'usd' AND bucket > $2::bigint) OR (metric = 'usd' AND bucket = $3::bigint))"
                     " GROUP BY client, metric",
                     3, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      PQclear(r);
      return false;
    }
    QuotaTotals totals;
    for (int i = 0; i < PQntuples(r); ++i) {
      QuotaUsage& u = totals[PQgetvalue(r, i, 0)];
      const std::string metric = PQgetvalue(r, i, 1);
      const double v = std::strtod(PQgetvalue(r, i, 2), nullptr);
      if (metric == "requests") u.requests = v;
      if (metric == "tokens") u.tokens = v;
      if (metric == "usd") u.usd = v;
    }
    PQclear(r);
    if (hooks_.on_quota_totals) hooks_.on_quota_totals(std::move(totals));
    if (syncs_++ % kPruneEveryTicks == 0) {
      const std::string old_s = std::to_string(now_s - 120), old_day = std::to_string(now_s / 86400 - 2);
      const char* prune[2] = {old_s.c_str(), old_day.c_str()};
      exec_params_ok(c,
                     "DELETE FROM quota_counters WHERE (metric <> 'usd' AND bucket < $1::bigint)"
                     " OR (metric = 'usd' AND bucket < $2::bigint)",
                     2, prune);
    }
    return true;
  };
  bool running = true;
  while (running) {
    running = wait_for(sync_interval_);  // after a stop: one last flush
    if (hooks_.take_quota_deltas)
      for (auto& d : hooks_.take_quota_deltas()) unflushed[{d.client, d.metric, d.bucket}] += d.value;
    const bool ok = flush_and_read();
    const int was = sync_state_.exchange(ok ? 1 : 2);
    if (!ok && was != 2) spdlog::warn("shared state: quota sync failing ({})", pg_message(c));
    if (ok && was == 2) spdlog::info("shared state: quota sync recovered");
  }
  PQfinish(c);
}

}  // namespace ladder::store
