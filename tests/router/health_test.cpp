// A backend's health from its calls and probes (router/health.h), on a clock the test
// moves by hand.
#include "router/health.h"

#include <gtest/gtest.h>

namespace ladder {
namespace {

using std::chrono::milliseconds;

class HealthTest : public ::testing::Test {
 protected:
  HealthTest() : health_(config(), [this] { return now_; }) {}
  static HealthConfig config() {
    HealthConfig c;
    c.failures_to_mark_down = 3;
    c.cooldown_ms = 1000;
    return c;
  }
  void fail(ErrorCode code = ErrorCode::kUnavailable) { last_ = health_.record(make_error(code, "x")); }
  void succeed() { last_ = health_.record(Status()); }

  BackendHealth::Clock::time_point now_ = BackendHealth::Clock::now();
  BackendHealth health_;
  BackendHealth::Change last_ = BackendHealth::Change::kNone;
};

TEST_F(HealthTest, OneFailureDoesNotTakeAModelOut) {
  fail();
  EXPECT_TRUE(health_.up());
  EXPECT_TRUE(health_.admit().allowed);
  fail();
  EXPECT_TRUE(health_.up());
  fail();
  EXPECT_FALSE(health_.up()) << "three in a row do";
  EXPECT_EQ(last_, BackendHealth::Change::kMarkedDown);
  EXPECT_EQ(health_.last_failure(), ErrorCode::kUnavailable);
}

TEST_F(HealthTest, ASuccessInBetweenStartsTheCountAgain) {
  fail();
  fail();
  succeed();
  fail();
  fail();
  EXPECT_TRUE(health_.up());
  EXPECT_EQ(health_.consecutive_failures(), 2);
}

// The finding: one 429 on a probe took the frontier out. A rate limit is an answer.
TEST_F(HealthTest, RateLimitsAndRefusalsAreNotDown) {
  for (int i = 0; i < 10; ++i) fail(ErrorCode::kRateLimited);
  EXPECT_TRUE(health_.up());
  for (int i = 0; i < 10; ++i) fail(ErrorCode::kUpstreamRejected);
  EXPECT_TRUE(health_.up());
  fail();
  fail();
  fail(ErrorCode::kRateLimited);  // it answered: the count starts again
  fail();
  EXPECT_TRUE(health_.up());
}

TEST_F(HealthTest, OnlyFailuresThatSayTheBackendCannotServeCount) {
  for (ErrorCode code : {ErrorCode::kUnavailable, ErrorCode::kTimeout, ErrorCode::kUpstreamError,
                         ErrorCode::kConnectionReset, ErrorCode::kBadResponse, ErrorCode::kNotConfigured})
    EXPECT_EQ(health_evidence(make_error(code, "x")), HealthEvidence::kDown) << error_name(code);
  for (ErrorCode code : {ErrorCode::kInvalidArgument, ErrorCode::kSchemaInvalid, ErrorCode::kInternal})
    EXPECT_EQ(health_evidence(make_error(code, "x")), HealthEvidence::kNeutral) << error_name(code);
  EXPECT_EQ(health_evidence(Status()), HealthEvidence::kUp);
  for (int i = 0; i < 5; ++i) fail(ErrorCode::kInvalidArgument);
  EXPECT_TRUE(health_.up());
  EXPECT_EQ(health_.consecutive_failures(), 0);
}

TEST_F(HealthTest, DownRefusesCallsUntilTheCoolDownThenAdmitsOneTrial) {
  fail();
  fail();
  fail();
  auto refused = health_.admit();
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_in, milliseconds(1000));
  now_ += milliseconds(400);
  EXPECT_EQ(health_.admit().retry_in, milliseconds(600));
  now_ += milliseconds(600);
  EXPECT_TRUE(health_.admit().allowed) << "half-open: one trial";
  EXPECT_FALSE(health_.admit().allowed) << "only one per cool-down";
  // The trial fails: down for another cool-down.
  fail();
  EXPECT_FALSE(health_.up());
  EXPECT_FALSE(health_.admit().allowed);
  now_ += milliseconds(1000);
  EXPECT_TRUE(health_.admit().allowed);
  succeed();
  EXPECT_EQ(last_, BackendHealth::Change::kMarkedUp);
  EXPECT_TRUE(health_.up());
  EXPECT_TRUE(health_.admit().allowed);
  EXPECT_TRUE(health_.admit().allowed);
}

TEST_F(HealthTest, AProbeSuccessMarksUpWithoutWaiting) {
  fail();
  fail();
  fail();
  ASSERT_FALSE(health_.up());
  succeed();  // a probe
  EXPECT_TRUE(health_.up());
  EXPECT_TRUE(health_.admit().allowed);
}

}  // namespace
}  // namespace ladder
