// Per-client limits (src/server/quota.h) on a clock the test moves, and the keys file's
// `limits:` (src/server/auth.cpp).
#include "server/quota.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ladder::server {
namespace {

using namespace std::chrono_literals;
using Clock = ClientQuotas::Clock;

class QuotaTest : public ::testing::Test {
 protected:
  // 10:00:00 UTC on some day, so that a day boundary is 14 h away.
  Clock::time_point now_ = Clock::time_point(std::chrono::hours(24 * 20000 + 10));
  ClientQuotas quotas_{[this] { return now_; }};
  static ClientIdentity client(ClientLimits limits) { return ClientIdentity{"alice", limits}; }
};

TEST_F(QuotaTest, NoLimitsAdmitsEverything) {
  ClientIdentity anyone{"anonymous", {}};
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(quotas_.admit(anyone).ok());
  quotas_.record(anyone, 1'000'000'000, 1e9);
  EXPECT_TRUE(quotas_.admit(anyone).ok());
}

TEST_F(QuotaTest, RequestsPerMinuteSlideWithTheirWindow) {
  const auto alice = client({.requests_per_minute = 2});
  EXPECT_TRUE(quotas_.admit(alice).ok());
  now_ += 20s;
  EXPECT_TRUE(quotas_.admit(alice).ok());
  now_ += 10s;
  std::string limit;
  Status over = quotas_.admit(alice, &limit);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.code(), ErrorCode::kRateLimited);
  EXPECT_EQ(limit, "requests_per_minute");
  ASSERT_TRUE(over.retry_after());
  EXPECT_EQ(*over.retry_after(), 30s) << "the first request leaves the window 60 s after it came";
  EXPECT_NE(over.message().find("2 requests per minute"), std::string::npos) << over.message();
  now_ += 30s;
  EXPECT_TRUE(quotas_.admit(alice).ok());
  EXPECT_FALSE(quotas_.admit(alice).ok()) << "the second request of 20 s is still in the window";
  // Another client has a window of its own.
  EXPECT_TRUE(quotas_.admit(ClientIdentity{"bob", {.requests_per_minute = 2}}).ok());
}

TEST_F(QuotaTest, TokensPerMinuteCountWhatModelCallsUsed) {
  const auto alice = client({.tokens_per_minute = 100});
  ASSERT_TRUE(quotas_.admit(alice).ok());
  quotas_.record(alice, 60, 0.0);
  now_ += 10s;
  ASSERT_TRUE(quotas_.admit(alice).ok()) << "60 of 100";
  quotas_.record(alice, 60, 0.0);
  std::string limit;
  Status over = quotas_.admit(alice, &limit);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(limit, "tokens_per_minute");
  EXPECT_EQ(*over.retry_after(), 50s) << "120 - 100: the first 60 tokens must age out";
  now_ += 50s;
  EXPECT_TRUE(quotas_.admit(alice).ok());
}

TEST_F(QuotaTest, SpendPerDayResetsAtUtcMidnight) {
  const auto alice = client({.usd_per_day = 1.0});
  ASSERT_TRUE(quotas_.admit(alice).ok());
  quotas_.record(alice, 10, 0.75);
  ASSERT_TRUE(quotas_.admit(alice).ok());
  quotas_.record(alice, 10, 0.25);
  std::string limit;
  Status over = quotas_.admit(alice, &limit);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(limit, "usd_per_day");
  EXPECT_EQ(*over.retry_after(), 14h);
  EXPECT_NE(over.message().find("$1.00 per day"), std::string::npos) << over.message();
  now_ += 14h;
  EXPECT_TRUE(quotas_.admit(alice).ok());
}

class KeyLimitsFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() / ("ladder-key-limits-" + std::to_string(getpid()) + ".yaml");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

TEST_F(KeyLimitsFileTest, LimitsAreReadPerClient) {
  auto ring = KeyRing::load_file(
      write("alice: {key: sk-alice, limits: {requests_per_minute: 60, tokens_per_minute: 20000, usd_per_day: 2.5}}\n"
            "bob: sk-bob\n"));
  ASSERT_TRUE(ring.ok()) << ring.status().to_string();
  auto alice = ring->client(*ring->identify("sk-alice"));
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->limits.requests_per_minute, 60);
  EXPECT_EQ(alice->limits.tokens_per_minute, 20000);
  EXPECT_EQ(alice->limits.usd_per_day, 2.5);
  auto bob = ring->client("bob");
  ASSERT_TRUE(bob);
  EXPECT_FALSE(bob->limits.any());
}

TEST_F(KeyLimitsFileTest, BadLimitsAreRefusedNamingTheEntryNeverTheKey) {
  for (const std::string& bad :
       {"alice: {key: sk-secret-1, limits: {requests_per_minute: -1}}\n",
        "alice: {key: sk-secret-1, limits: {requests_per_minute: 1.5}}\n",
        "alice: {key: sk-secret-1, limits: {tokens_per_minute: lots}}\n",
        "alice: {key: sk-secret-1, limits: {usd_per_day: 0}}\n", "alice: {key: sk-secret-1, limits: {burst: 3}}\n",
        "alice: {key: sk-secret-1, limits: [60]}\n", "alice: {key: sk-secret-1, env: HOME}\n",
        "alice: {key: sk-secret-1, rpm: 3}\n", "alice: {limits: {requests_per_minute: 3}}\n"}) {
    auto ring = KeyRing::load_file(write(bad));
    ASSERT_FALSE(ring.ok()) << bad;
    EXPECT_EQ(ring.status().code(), ErrorCode::kConfigInvalid) << bad;
    EXPECT_NE(ring.status().message().find("alice"), std::string::npos) << ring.status().message();
    EXPECT_EQ(ring.status().message().find("sk-secret"), std::string::npos) << ring.status().message();
  }
}

}  // namespace
}  // namespace ladder::server
