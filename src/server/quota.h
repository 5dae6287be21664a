// Per-client limits of `ladder serve` (the keys file's `limits:`): requests per minute,
// tokens per minute and spend per UTC day. A request over one of them is refused before
// it reaches a model: kRateLimited (429) with the time until it would pass as
// Status::retry_after. Requests count when admitted; tokens and spend when a model call
// answered (route, pass-through, relay). Windows are sliding (the last 60 s) for requests
// and tokens, the calendar day (UTC) for spend. The state is per process: replicas each
// enforce the limits on what they serve.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "ladder/status.h"
#include "server/auth.h"

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

 private:
  struct State {
    std::deque<Clock::time_point> requests;                      // admitted, last 60 s
    std::deque<std::pair<Clock::time_point, long long>> tokens;  // used, last 60 s
    long long tokens_in_window = 0;
    long long day = -1;  // days since the epoch (UTC) of `usd`
    double usd = 0.0;
  };
  void prune(State& s, Clock::time_point now) const;

  const NowFn now_;
  std::mutex mu_;  // guards state_
  std::map<std::string, State> state_;
};

}  // namespace ladder::server
