#include "preprocess/log_lines.h"

#include <gtest/gtest.h>

namespace ladder {
namespace {

TEST(LogLines, StripsAnsiCodes) {
  EXPECT_EQ(clean_log_line("\x1b[31mnpm ERR!\x1b[0m code E404"), "npm ERR! code E404");
  EXPECT_EQ(clean_log_line("\x1b[1;32m   Compiling\x1b[0m serde v1.0.0"), "   Compiling serde v1.0.0");
}

TEST(LogLines, StripsTimestamps) {
  EXPECT_EQ(clean_log_line("2024-01-01T00:00:00.1234567Z Run npm ci"), "Run npm ci");
  EXPECT_EQ(clean_log_line("2024-03-05 10:11:12,345 ERROR boom"), "ERROR boom");
  EXPECT_EQ(clean_log_line("[12:34:56] Starting 'build'..."), "Starting 'build'...");
  EXPECT_EQ(clean_log_line("12:34:56.789 step done"), "step done");
  EXPECT_EQ(clean_log_line("2024-01-01T00:00:00.1234567Z [2024-01-01T00:00:01Z] nested"), "nested");
}

TEST(LogLines, CiPrefixesKeepDecisiveLevels) {
  EXPECT_EQ(clean_log_line("2024-01-01T00:00:00.1Z ##[error]Process completed with exit code 1."),
            "error: Process completed with exit code 1.");
  EXPECT_EQ(clean_log_line("##[group]Run actions/checkout@v4"), "Run actions/checkout@v4");
  EXPECT_EQ(clean_log_line("##[endgroup]"), "");
  EXPECT_EQ(clean_log_line("::error file=app.js,line=1::Missing semicolon"), "error: Missing semicolon");
  EXPECT_EQ(clean_log_line("[INFO] Building demo 1.0"), "Building demo 1.0");
  EXPECT_EQ(clean_log_line("[ERROR] Failed to execute goal"), "error: Failed to execute goal");
  EXPECT_EQ(clean_log_line("[WARNING] deprecated"), "warning: deprecated");
}

TEST(LogLines, CarriageReturnKeepsTheLastRedraw) {
  EXPECT_EQ(clean_log_line("Downloading 10%\rDownloading 50%\rDownloading 100%\r"), "Downloading 100%");
}

TEST(LogLines, BlankLinesAreRulesAndSpace) {
  EXPECT_TRUE(blank_log_line(""));
  EXPECT_TRUE(blank_log_line("------------------------------------------------------------------------"));
  EXPECT_TRUE(blank_log_line("  ===  "));
  EXPECT_FALSE(blank_log_line("BUILD FAILURE"));
}

TEST(LogLines, KeysMaskNumbersAndIds) {
  EXPECT_EQ(log_line_key("Downloaded 12 kB in 3s"), log_line_key("Downloaded 480 kB in 17s"));
  EXPECT_EQ(log_line_key("commit abcdef1234 ok"), log_line_key("commit 99887766aa ok"));
  EXPECT_NE(log_line_key("Downloaded foo"), log_line_key("Compiled foo"));
  EXPECT_EQ(log_line_family(log_line_key("at com.acme.A.run(A.java:10)")), "at com.acme.a.run(a.java:#)");
  EXPECT_EQ(log_line_family(log_line_key("Compiling serde v1.0.1")), "compiling serde ");
}

TEST(LogLines, DecisiveLines) {
  for (const char* line :
       {"src/main.c:3:5: error: unknown type name 'foo'", "npm ERR! code ERESOLVE",
        "thread 'main' panicked at 'boom', src/main.rs:2:5", "FAIL src/App.test.js",
        "E       AssertionError: assert 1 == 2", "BUILD FAILURE",
        "Traceback (most recent call last):", "--- FAIL: TestAdd (0.00s)",
        "ERROR: No matching distribution found for pandas==9.1", "error: Process completed with exit code 1.",
        "  ✕ renders (5 ms)", "java.lang.NullPointerException: boom", "Tests run: 3, Failures: 1, Errors: 0"}) {
    EXPECT_TRUE(decisive_log_line(line)) << line;
  }
  for (const char* line : {"Compiling serde v1.0.0", "Tests run: 3, Failures: 0, Errors: 0", "0 errors, 0 warnings",
                           "added 120 packages in 3s", "Run actions/checkout@v4"}) {
    EXPECT_FALSE(decisive_log_line(line)) << line;
  }
}

}  // namespace
}  // namespace ladder
