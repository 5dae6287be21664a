#include "backends/retry.h"

#include <gtest/gtest.h>

#include <vector>

namespace ladder {
namespace {

using std::chrono::milliseconds;

RetryConfig config(int max_retries = 3, int initial = 100, int max = 1000, double jitter = 0.0) {
  RetryConfig c;
  c.max_retries = max_retries;
  c.initial_backoff_ms = initial;
  c.max_backoff_ms = max;
  c.jitter = jitter;
  return c;
}

struct Recorder {
  std::vector<milliseconds> delays;
  SleepFn fn() {
    return [this](milliseconds d) { delays.push_back(d); };
  }
};

TEST(RetryPolicy, BackoffDoublesUpToCap) {
  RetryPolicy policy(config(), {}, [] { return 0.0; });
  EXPECT_EQ(policy.backoff(1), milliseconds(100));
  EXPECT_EQ(policy.backoff(2), milliseconds(200));
  EXPECT_EQ(policy.backoff(3), milliseconds(400));
  EXPECT_EQ(policy.backoff(4), milliseconds(800));
  EXPECT_EQ(policy.backoff(5), milliseconds(1000));
  EXPECT_EQ(policy.backoff(40), milliseconds(1000));
}

TEST(RetryPolicy, JitterScalesWithinBounds) {
  RetryPolicy low(config(3, 100, 1000, 0.2), {}, [] { return -1.0; });
  RetryPolicy high(config(3, 100, 1000, 0.2), {}, [] { return 1.0; });
  EXPECT_EQ(low.backoff(1), milliseconds(80));
  EXPECT_EQ(high.backoff(1), milliseconds(120));
  RetryPolicy real(config(3, 100, 1000, 0.2));
  for (int i = 0; i < 200; ++i) {
    auto d = real.backoff(2);
    EXPECT_GE(d, milliseconds(160));
    EXPECT_LE(d, milliseconds(240));
  }
}

TEST(RetryPolicy, OnlyRetryableCodesAreRetried) {
  RetryPolicy policy(config());
  const auto forever = milliseconds::max();
  for (ErrorCode code : {ErrorCode::kRateLimited, ErrorCode::kUpstreamError, ErrorCode::kUnavailable,
                         ErrorCode::kTimeout, ErrorCode::kConnectionReset}) {
    EXPECT_TRUE(policy.next_delay(1, make_error(code, "x"), forever).has_value()) << error_name(code);
  }
  for (ErrorCode code : {ErrorCode::kUpstreamRejected, ErrorCode::kBadResponse, ErrorCode::kInvalidArgument,
                         ErrorCode::kConfigInvalid, ErrorCode::kInternal}) {
    EXPECT_FALSE(policy.next_delay(1, make_error(code, "x"), forever).has_value()) << error_name(code);
  }
}

TEST(RetryPolicy, RetryAfterReplacesBackoffAndTooLongStops) {
  RetryPolicy policy(config(3, 100, 5000), {}, [] { return 0.0; });
  auto rate = make_error(ErrorCode::kRateLimited, "429");
  rate.set_retry_after(milliseconds(2000));
  auto delay = policy.next_delay(1, rate, milliseconds::max());
  ASSERT_TRUE(delay.has_value());
  EXPECT_EQ(*delay, milliseconds(2000));
  rate.set_retry_after(milliseconds(60000));
  EXPECT_FALSE(policy.next_delay(1, rate, milliseconds::max()).has_value());
}

TEST(RetryPolicy, NoRetryPastDeadline) {
  RetryPolicy policy(config(3, 100, 1000), {}, [] { return 0.0; });
  const auto err = make_error(ErrorCode::kUpstreamError, "500");
  EXPECT_TRUE(policy.next_delay(1, err, milliseconds(150)).has_value());
  EXPECT_FALSE(policy.next_delay(1, err, milliseconds(50)).has_value());
}

TEST(RetryPolicy, RunStopsAtMaxRetries) {
  Recorder sleeps;
  RetryPolicy policy(config(2), sleeps.fn(), [] { return 0.0; });
  int calls = 0;
  int attempts = 0;
  auto result = policy.run<int>(
      [&]() -> Result<int> {
        ++calls;
        return make_error(ErrorCode::kUpstreamError, "boom");
      },
      &attempts);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUpstreamError);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(sleeps.delays, (std::vector<milliseconds>{milliseconds(100), milliseconds(200)}));
}

TEST(RetryPolicy, RunSucceedsAfterRetryableFailures) {
  Recorder sleeps;
  RetryPolicy policy(config(3), sleeps.fn(), [] { return 0.0; });
  int calls = 0;
  int attempts = 0;
  auto result = policy.run<int>(
      [&]() -> Result<int> {
        if (++calls < 3) {
          Status rate = make_error(ErrorCode::kRateLimited, "429");
          rate.set_retry_after(milliseconds(1000));
          return rate;
        }
        return 42;
      },
      &attempts);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value(), 42);
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(sleeps.delays, (std::vector<milliseconds>{milliseconds(1000), milliseconds(1000)}));
}

TEST(RetryPolicy, RunDoesNotRetryNonRetryable) {
  Recorder sleeps;
  RetryPolicy policy(config(3), sleeps.fn());
  int calls = 0;
  int attempts = 0;
  auto result = policy.run<int>(
      [&]() -> Result<int> {
        ++calls;
        return make_error(ErrorCode::kUpstreamRejected, "401");
      },
      &attempts);
  EXPECT_EQ(result.status().code(), ErrorCode::kUpstreamRejected);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(attempts, 1);
  EXPECT_TRUE(sleeps.delays.empty());
}

TEST(RetryPolicy, ZeroRetriesMeansOneAttempt) {
  Recorder sleeps;
  RetryPolicy policy(config(0), sleeps.fn());
  int calls = 0;
  auto result = policy.run<int>(
      [&]() -> Result<int> {
        ++calls;
        return make_error(ErrorCode::kTimeout, "t");
      },
      nullptr);
  EXPECT_EQ(result.status().code(), ErrorCode::kTimeout);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ladder
