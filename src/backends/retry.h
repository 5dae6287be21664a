// Retries with exponential backoff and jitter, only for retryable failures
// (error_info(code).retryable: rate limited, 5xx, unavailable, timeout, connection reset).
//
// Delay before retry k (1-based): min(initial * 2^(k-1), max_backoff) scaled by
// (1 + jitter * u), u uniform in [-1, 1]. A Retry-After hint from the upstream replaces
// the computed delay (the failure carries it: Status::retry_after()); a hint longer than
// max_backoff_ms ends the retries at once (the upstream asked for a longer pause than
// this request may spend waiting). No retry starts when its delay would end past the
// overall deadline.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <utility>

#include "ladder/config.h"
#include "ladder/status.h"

namespace ladder {

using SleepFn = std::function<void(std::chrono::milliseconds)>;
// Returns a value uniform in [-1, 1].
using JitterFn = std::function<double()>;

class RetryPolicy {
 public:
  // Empty sleep / jitter functions mean the real ones (std::this_thread::sleep_for and
  // a thread-local PRNG).
  explicit RetryPolicy(RetryConfig config, SleepFn sleep = {}, JitterFn jitter = {});

  const RetryConfig& config() const { return config_; }

  // Delay before retry number `retry` (1-based) without a Retry-After hint.
  std::chrono::milliseconds backoff(int retry) const;

  // Decides whether retry number `retry` may run after `failure` (its retry_after the
  // upstream's hint); when yes, returns the delay to wait first. `remaining` is the time
  // left before the overall deadline.
  std::optional<std::chrono::milliseconds> next_delay(int retry, const Status& failure,
                                                      std::chrono::milliseconds remaining) const;

  void sleep(std::chrono::milliseconds delay) const { sleep_(delay); }

  // Runs `attempt` (signature Result<T>()) until it succeeds, fails with a
  // non-retryable code, or retries run out. `attempts` receives the number of tries.
  template <typename T, typename F>
  Result<T> run(F&& attempt, int* attempts,
                std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max()) const {
    int tries = 0;
    for (int retry = 1;; ++retry) {
      ++tries;
      Result<T> result = attempt();
      if (result.ok()) {
        if (attempts != nullptr) *attempts = tries;
        return result;
      }
      auto delay = next_delay(retry, result.status(), remaining(deadline));
      if (!delay) {
        if (attempts != nullptr) *attempts = tries;
        return result;
      }
      sleep(*delay);
    }
  }

 private:
  static std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline);

  RetryConfig config_;
  SleepFn sleep_;
  JitterFn jitter_;
};

}  // namespace ladder
