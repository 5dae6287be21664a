// State that replicas of `ladder serve` on one PostgreSQL share (docs/deploy.md): the
// admin switches (table admin_state, one row per switch, NOTIFY ladder_admin in the
// writing transaction) and the per-client quota counters (table quota_counters, one row
// per client, metric, time bucket and replica).
//
// Threads: a listener thread holds its own connection (LISTEN ladder_admin), reloads the
// admin state on each notification and after each (re)connect and hands it to
// Hooks::on_admin; a sync thread flushes this replica's quota deltas and reads the other
// replicas' totals every sync interval. Both reconnect with backoff; while down, the
// replica keeps the last state it read. Admin writes (set_*) block on their own
// connection (guarded by a lock): call them from a worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/status.h"

struct pg_conn;

namespace ladder::store {

struct SharedAdminState {
  bool kill_all = false;
  std::set<std::string> kill_tasks;
  std::optional<bool> shadow;  // unset: the policy's
  int malformed_rows = 0;      // rows skipped (unknown key, a value of the wrong type)
};

// What one replica used since its last flush. metric "requests" and "tokens": bucket is
// the second since the epoch; "usd": the day since the epoch (UTC).
struct QuotaDelta {
  std::string client;
  std::string metric;
  std::int64_t bucket = 0;
  double value = 0.0;
};
// The other replicas' use per client: requests and tokens in the last 60 s, spend today.
struct QuotaUsage {
  double requests = 0.0;
  double tokens = 0.0;
  double usd = 0.0;
};
using QuotaTotals = std::map<std::string, QuotaUsage>;

class SharedState {
 public:
  struct Hooks {
    std::function<void(const SharedAdminState&)> on_admin;       // listener thread
    std::function<void(bool up)> on_listener;                    // listener thread
    std::function<std::vector<QuotaDelta>()> take_quota_deltas;  // sync thread
    std::function<void(QuotaTotals)> on_quota_totals;            // sync thread
  };

  // Connects (the libpq string in the environment variable `dsn_env`; messages name the
  // variable, never its value). `replica` names this process in the rows it writes.
  static Result<std::unique_ptr<SharedState>> open(const std::string& dsn_env, std::string replica,
                                                   std::chrono::milliseconds sync_interval);
  ~SharedState();
  SharedState(const SharedState&) = delete;
  SharedState& operator=(const SharedState&) = delete;

  // The admin state now (on the writer connection).
  Result<SharedAdminState> load_admin();
  // Starts the listener and sync threads.
  void start(Hooks hooks);

  // One switch in one transaction with NOTIFY ladder_admin.
  Status set_kill_switch(bool enabled, const std::optional<std::string>& task);
  Status set_shadow(std::optional<bool> enabled);

  // The key that signs macro approval tokens, the same for every replica of the store
  // (created by the first replica that starts; row approval_key of admin_state).
  const std::string& approval_key() const { return approval_key_; }

  bool listener_up() const { return listener_up_.load(); }
  const std::string& replica() const { return replica_; }
  // {"replica", "listener": "up"|"down", "listener_reconnects", "admin_loads",
  //  "malformed_admin_rows", "quota_sync": "ok"|"failing"|"idle", "quota_syncs"}
  nlohmann::json status() const;

 private:
  SharedState(std::string dsn, std::string where, std::string replica, std::chrono::milliseconds sync_interval);
  // Upserts (value) or deletes (nullopt) row `key`; clear_tasks also deletes every
  // kill_task: row. One transaction with the NOTIFY.
  Status write_admin(const std::string& key, const std::optional<std::string>& value, bool clear_tasks);
  void listen_loop();
  void sync_loop();
  // Waits up to `d` or until stop; false when stopping.
  bool wait_for(std::chrono::milliseconds d);

  const std::string dsn_;
  const std::string where_;
  const std::string replica_;
  const std::chrono::milliseconds sync_interval_;
  std::string approval_key_;
  Hooks hooks_;

  std::mutex writer_mu_;              // guards writer_
  struct pg_conn* writer_ = nullptr;  // libpq's PGconn

  std::atomic<bool> listener_up_{false};
  std::atomic<long long> reconnects_{0};
  std::atomic<long long> admin_loads_{0};
  std::atomic<int> malformed_{0};
  std::atomic<int> sync_state_{0};  // 0 idle, 1 ok, 2 failing
  std::atomic<long long> syncs_{0};

  std::mutex stop_mu_;  // guards stopping_ (with stop_cv_)
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::atomic<bool> stop_flag_{false};
  std::thread listener_;
  std::thread sync_;
};

}  // namespace ladder::store
