#include "server/quota.h"

#include <cmath>
#include <cstdio>

namespace ladder::server {
namespace {

using std::chrono::milliseconds;
constexpr auto kWindow = std::chrono::seconds(60);

long long day_of(ClientQuotas::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::hours>(t.time_since_epoch()).count() / 24;
}

long long second_of(ClientQuotas::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Status refused(const ClientIdentity& client, const std::string& what, milliseconds wait) {
  Status s = make_error(ErrorCode::kRateLimited, "client '" + client.name + "' is over its " + what);
  s.set_retry_after(std::max(wait, milliseconds(1)));
  return s;
}

std::string usd_text(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", usd);
  return buf;
}

}  // namespace

ClientQuotas::ClientQuotas(NowFn now) : now_(now ? std::move(now) : NowFn([] { return Clock::now(); })) {}

void ClientQuotas::prune(State& s, Clock::time_point now) const {
  while (!s.requests.empty() && s.requests.front() + kWindow <= now) s.requests.pop_front();
  while (!s.tokens.empty() && s.tokens.front().first + kWindow <= now) {
    s.tokens_in_window -= s.tokens.front().second;
    s.tokens.pop_front();
  }
  if (const long long today = day_of(now); s.day != today) {
    s.day = today;
    s.usd = 0.0;
  }
}

Status ClientQuotas::admit(const ClientIdentity& client, std::string* limit) {
  const ClientLimits& l = client.limits;
  if (!l.any()) return {};
  const auto now = now_();
  std::lock_guard lock(mu_);
  State& s = state_[client.name];
  prune(s, now);
  store::QuotaUsage others;  // zero unless shared
  if (auto it = others_.find(client.name); it != others_.end()) others = it->second;
  auto until = [&](Clock::time_point t) { return std::chrono::duration_cast<milliseconds>(t - now); };
  // When only the other replicas' use keeps a request out, its buckets are seconds: retry in one.
  constexpr milliseconds kOthersRetry(1000);
  const long long requests = static_cast<long long>(s.requests.size());
  if (l.requests_per_minute && requests + static_cast<long long>(others.requests) >= *l.requests_per_minute) {
    if (limit) *limit = "requests_per_minute";
    return refused(client, std::to_string(*l.requests_per_minute) + " requests per minute",
                   requests >= *l.requests_per_minute ? until(s.requests.front() + kWindow) : kOthersRetry);
  }
  if (l.tokens_per_minute && s.tokens_in_window + static_cast<long long>(others.tokens) >= *l.tokens_per_minute) {
    if (limit) *limit = "tokens_per_minute";
    milliseconds wait = kOthersRetry;
    if (s.tokens_in_window >= *l.tokens_per_minute) {
      // Passes once enough of the window's tokens have aged out.
      long long over = s.tokens_in_window - *l.tokens_per_minute;
      auto at = s.tokens.front().first;
      for (const auto& [t, n] : s.tokens) {
        at = t;
        if ((over -= n) < 0) break;
      }
      wait = until(at + kWindow);
    }
    return refused(client, std::to_string(*l.tokens_per_minute) + " tokens per minute", wait);
  }
  if (l.usd_per_day && s.usd + others.usd >= *l.usd_per_day) {
    if (limit) *limit = "usd_per_day";
    const auto midnight = Clock::time_point(std::chrono::hours(24 * (s.day + 1)));
    return refused(client, "spend of $" + usd_text(*l.usd_per_day) + " per day (UTC)", until(midnight));
  }
  if (l.requests_per_minute) {
    s.requests.push_back(now);
    add_delta(client.name, "requests", second_of(now), 1.0);
  }
  return {};
}

void ClientQuotas::record(const ClientIdentity& client, long long tokens, double usd) {
  const ClientLimits& l = client.limits;
  if (!l.tokens_per_minute && !l.usd_per_day) return;
  const auto now = now_();
  std::lock_guard lock(mu_);
  State& s = state_[client.name];
  prune(s, now);
  if (l.tokens_per_minute && tokens > 0) {
    s.tokens.emplace_back(now, tokens);
    s.tokens_in_window += tokens;
    add_delta(client.name, "tokens", second_of(now), static_cast<double>(tokens));
  }
  if (l.usd_per_day && usd > 0 && std::isfinite(usd)) {
    s.usd += usd;
    add_delta(client.name, "usd", s.day, usd);
  }
}

void ClientQuotas::add_delta(const std::string& client, const char* metric, long long bucket, double value) {
  if (shared_) deltas_[{client, metric, bucket}] += value;
}

void ClientQuotas::share() {
  std::lock_guard lock(mu_);
  shared_ = true;
}

std::vector<store::QuotaDelta> ClientQuotas::take_deltas() {
  std::map<std::tuple<std::string, std::string, long long>, double> taken;
  {
    std::lock_guard lock(mu_);
    taken.swap(deltas_);
  }
  std::vector<store::QuotaDelta> out;
  out.reserve(taken.size());
  for (auto& [key, value] : taken) out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), value});
  return out;
}

void ClientQuotas::set_others(store::QuotaTotals others) {
  std::lock_guard lock(mu_);
  others_ = std::move(others);
}

}  // namespace ladder::server
