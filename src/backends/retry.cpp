#include "backends/retry.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace ladder {
namespace {

void real_sleep(std::chrono::milliseconds delay) {
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
}

double real_jitter() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  return dist(engine);
}

}  // namespace

RetryPolicy::RetryPolicy(RetryConfig config, SleepFn sleep, JitterFn jitter)
    : config_(config),
      sleep_(sleep ? std::move(sleep) : SleepFn(real_sleep)),
      jitter_(jitter ? std::move(jitter) : JitterFn(real_jitter)) {}

std::chrono::milliseconds RetryPolicy::backoff(int retry) const {
  const double initial = std::max(0, config_.initial_backoff_ms);
  const double cap = std::max(0, config_.max_backoff_ms);
  const int exponent = std::clamp(retry - 1, 0, 30);
  double base = std::min(initial * std::pow(2.0, exponent), cap);
  const double jitter = std::clamp(config_.jitter, 0.0, 1.0);
  const double u = std::clamp(jitter_(), -1.0, 1.0);
  double delay = base * (1.0 + jitter * u);
  return std::chrono::milliseconds(static_cast<long long>(std::llround(std::max(0.0, delay))));
}

std::optional<std::chrono::milliseconds> RetryPolicy::next_delay(int retry, const Status& failure,
                                                                 std::chrono::milliseconds remaining) const {
  if (failure.ok() || !failure.retryable()) return std::nullopt;
  if (retry > config_.max_retries) return std::nullopt;
  std::chrono::milliseconds delay;
  if (const auto& hint = failure.retry_after()) {
    if (hint->count() > config_.max_backoff_ms) return std::nullopt;
    delay = *hint;
  } else {
    delay = backoff(retry);
  }
  if (delay >= remaining) return std::nullopt;
  return delay;
}

std::chrono::milliseconds RetryPolicy::remaining(std::chrono::steady_clock::time_point deadline) {
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    return std::chrono::milliseconds::max();
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

}  // namespace ladder
