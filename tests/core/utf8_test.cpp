#include "ladder/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace ladder {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x9c\x96 \xf0\x9f\x9a\x80"));
}

TEST(Utf8Test, RejectsMalformedSequences) {
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("abc\xc3"));           // truncated
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_EQ(first_invalid_utf8("ok\xe2\x28\xa1"), 2u);
}

}  // namespace
}  // namespace ladder
