// Per-client limits of `ladder serve` (the keys file's `limits:`): requests per minute,
// tokens per minute and spend per UTC day. A request over one of them is refused before
// it reaches a model: kRateLimited (429) with the time until it would pass as
// Status::retry_after. Requests count when admitted; tokens and spend when a model call
// answered (route, pass-through, relay). Windows are sliding (the last 60 s) for requests
// and tokens, the calendar day (UTC) for spend. Alone, the state is per process. With
// share() (replicas on one PostgreSQL, src/store/shared_state.h) what this replica
// counts is also collected as deltas for the sync thread, and the other replicas' use at
// the last sync (set_others) counts against each limit too (docs/deploy.md).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "ladder/status.h"
#include "server/auth.h"
#include "store/shared_state.h"

namespace ladder::server {

class ClientQuotas {
 public:
  using Clock = std::chrono::system_clock;
  using NowFn = std::function<Clock::time_point()>;

  explicit ClientQuotas(NowFn now = {});

  // Admits one request of `client` (and counts it) or refuses it. `limit` names the one
  // that refused ("requests_per_minute", "tokens_per_minute", "usd_per_day").
  Status admit(const ClientIdentity& client, std::string* limit = nullptr);
  // Adds what a model call of `client` used.
  void record(const ClientIdentity& client, long long tokens, double usd);

  // From now on, collect deltas for take_deltas().
  void share();
  // What was counted since the last call (requests and tokens by second, spend by day).
  std::vector<store::QuotaDelta> take_deltas();
  // The other replicas' use at the last sync.
  void set_others(store::QuotaTotals others);

 private:
  struct State {
    std::deque<Clock::time_point> requests;                      // admitted, last 60 s
    std::deque<std::pair<Clock::time_point, long long>> tokens;  // used, last 60 s
    long long tokens_in_window = 0;
    long long day = -1;  // days since the epoch (UTC) of `usd`
    double usd = 0.0;
  };
  void prune(State& s, Clock::time_point now) const;
  void add_delta(const std::string& client, const char* metric, long long bucket, double value);

  const NowFn now_;
  std::mutex mu_;  // guards state_
  std::map<std::string, State> state_;
  bool shared_ = false;
  std::map<std::tuple<std::string, std::string, long long>, double> deltas_;
  store::QuotaTotals others_;
};

}  // namespace ladder::server
