#include "ladder/status.h"
#include "ladder/reason.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ladder {
namespace {

TEST(StatusTest, EveryCodeHasItsOwnRow) {
  std::set<std::string> names;
  for (int c = static_cast<int>(ErrorCode::kOk); c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    auto code = static_cast<ErrorCode>(c);
    names.insert(std::string(error_name(code)));
    if (code != ErrorCode::kInternal) EXPECT_NE(error_name(code), "internal") << c;
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(ErrorCode::kInternal) + 1);
}

TEST(StatusTest, TableGivesStatusAndRetryability) {
  EXPECT_EQ(error_info(ErrorCode::kRateLimited).http_status, 429);
  EXPECT_TRUE(error_info(ErrorCode::kRateLimited).retryable);
  EXPECT_TRUE(error_info(ErrorCode::kUpstreamError).retryable);
  EXPECT_FALSE(error_info(ErrorCode::kUpstreamRejected).retryable);
  EXPECT_FALSE(error_info(ErrorCode::kSchemaInvalid).retryable);
  EXPECT_EQ(error_info(ErrorCode::kPayloadTooLarge).http_status, 413);
}

TEST(StatusTest, ResultHoldsValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = make_error(ErrorCode::kNotFound, "no task 'x'");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(bad.status().to_string(), "not_found: no task 'x'");
}

TEST(ReasonTest, VocabularyRoundTrips) {
  const char* names[] = {"unknown_task",       "policy_requires_frontier", "input_too_large",      "schema_invalid",
                         "confidence_low",     "label_escalates",          "no_macro_match",       "args_ungrounded",
                         "hard_stop_security", "hard_stop_access",         "hard_stop_production", "local_unavailable",
                         "manual_override"};
  for (const char* n : names) {
    auto r = reason_from_name(n);
    ASSERT_TRUE(r.has_value()) << n;
    EXPECT_EQ(reason_name(*r), n);
  }
  EXPECT_FALSE(reason_from_name("because").has_value());
}

}  // namespace
}  // namespace ladder
