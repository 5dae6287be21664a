#include "preprocess/log_reducer.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ladder/utf8.h"
#include "policy/gates.h"

namespace ladder {
namespace {

// `n` lines of the kind of noise a tool prints before it fails.
std::string noise(const std::string& pattern, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    std::string line = pattern;
    const auto at = line.find("{}");
    if (at != std::string::npos) line.replace(at, 2, std::to_string(i * 7 + 3));
    out += line + "\n";
  }
  return out;
}

struct LogCase {
  const char* ecosystem;
  std::string log;
  const char* decisive;  // must survive reduction verbatim (after cleaning)
  const char* noise;     // must not survive
};

std::vector<LogCase> cases() {
  const std::string gha = "2024-01-01T00:00:00.1234567Z ";
  return {
      {"npm",
       noise("npm http fetch GET 200 https://registry.npmjs.org/pkg-{} 12ms (cache hit)", 120) +
           "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree\n"
           "npm ERR! Found: react@18.2.0\nnpm ERR! Could not resolve dependency: peer react@\"^17\" from foo@1.0.0\n",
       "npm ERR! Could not resolve dependency: peer react@\"^17\" from foo@1.0.0", "registry.npmjs.org/pkg-"},
      {"pip",
       noise("Collecting package{}>=1.0", 40) + noise("  Downloading package-{}.tar.gz (12 kB)", 80) +
           "ERROR: Could not find a version that satisfies the requirement pandas==9.1 (from versions: 1.0, 2.0)\n"
           "ERROR: No matching distribution found for pandas==9.1\n",
       "ERROR: No matching distribution found for pandas==9.1", "Downloading package-"},
      {"cargo",
       noise("   Compiling crate{} v0.1.{}", 150) +
           "error[E0308]: mismatched types\n --> src/main.rs:4:18\n  |\n4 |     let x: u32 = \"a\";\n"
           "  |            ---   ^^^ expected `u32`, found `&str`\n"
           "error: could not compile `demo` (bin \"demo\") due to 1 previous error\n",
       "error[E0308]: mismatched types", "Compiling crate"},
      {"go",
       noise("go: downloading github.com/acme/mod{} v1.2.{}", 120) +
           "=== RUN   TestAdd\n"
           "    add_test.go:12: Add(1, 2) = 4, want 3\n--- FAIL: TestAdd "
           "(0.00s)\nFAIL\nFAIL\tgithub.com/acme/calc\t0.004s\n",
       "--- FAIL: TestAdd (0.00s)", "go: downloading"},
      {"maven",
       "[INFO] Scanning for projects...\n[INFO] "
       "------------------------------------------------------------------------\n" +
           noise("[INFO] Downloading from central: https://repo.maven.apache.org/maven2/org/lib{}/lib.pom", 150) +
           "[INFO] BUILD FAILURE\n[INFO] ------------------------------------------------------------------------\n"
           "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:compile "
           "(default-compile) "
           "on project demo: Compilation failure\n[ERROR] /src/main/java/App.java:[5,9] cannot find symbol\n",
       "error: /src/main/java/App.java:[5,9] cannot find symbol", "repo.maven.apache.org"},
      {"gradle",
       noise("> Task :lib{}:compileJava UP-TO-DATE", 120) + "> Task :app:test FAILED\n\nAppTest > adds() FAILED\n    "
                                                            "org.opentest4j.AssertionFailedError: expected: <3> but "
                                                            "was: <4>\n\nFAILURE: Build failed with an exception.\n",
       "org.opentest4j.AssertionFailedError: expected: <3> but was: <4>", "compileJava UP-TO-DATE"},
      {"cmake",
       noise("[{}/300] Building CXX object src/CMakeFiles/core.dir/file{}.cpp.o", 200) +
           "FAILED: src/CMakeFiles/core.dir/widget.cpp.o\n/src/widget.cpp:57:9: error: 'count' was not declared in "
           "this scope\n"
           "ninja: build stopped: subcommand failed.\n",
       "/src/widget.cpp:57:9: error: 'count' was not declared in this scope", "Building CXX object"},
      {"dotnet",
       noise("  Restored /src/Proj{}/Proj.csproj (in 120 ms).", 100) +
           "/src/Api/Program.cs(12,5): error CS0103: The name 'foo' does not exist in the current context "
           "[/src/Api/Api.csproj]\nBuild FAILED.\n    0 Warning(s)\n    1 Error(s)\n",
       "error CS0103: The name 'foo' does not exist in the current context", "Restored /src/Proj"},
      {"docker",
       noise("#5 sha256:0123456789abcdef{} 1.2MB / 30MB 0.{}s", 150) +
           "#8 [3/5] RUN apt-get install -y libfoo\n#8 1.234 E: Unable to locate package libfoo\n"
           "#8 ERROR: process \"/bin/sh -c apt-get install -y libfoo\" did not complete successfully: exit code: 100\n",
       "#8 1.234 E: Unable to locate package libfoo", "sha256:0123456789abcdef"},
      {"github-actions",
       gha + "##[group]Run actions/setup-node@v4\n" + noise(gha + "Attempting to download node v20.{}.0...", 120) +
           gha + "##[endgroup]\n" + gha + "Error: Cannot find module 'left-pad'\n" + gha +
           "##[error]Process completed with exit code 1.\n",
       "Error: Cannot find module 'left-pad'", "Attempting to download"},
      {"pytest",
       noise("tests/test_mod{}.py::test_ok PASSED", 150) +
           "________________________________ test_total ________________________________\n\n    def test_total():\n"
           ">       assert total([1, 2]) == 4\nE       assert 3 == 4\n\ntests/test_cart.py:7: AssertionError\n"
           "=========================== 1 failed, 150 passed in 0.52s ===========================\n",
       "E       assert 3 == 4", "test_ok PASSED"},
      {"jest",
       noise("PASS src/components/C{}.test.js", 120) +
           "FAIL src/cart/total.test.js\n  ● total › sums items\n\n    expect(received).toBe(expected)\n\n"
           "    Expected: 42\n    Received: 41\n\nTests: 1 failed, 120 passed, 121 total\n",
       "FAIL src/cart/total.test.js", "PASS src/components"},
      {"junit",
       noise("[INFO] Running com.acme.T{}Test", 100) +
           "[ERROR] Tests run: 4, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.1 s <<< FAILURE! - in "
           "com.acme.CartTest\n"
           "[ERROR] com.acme.CartTest.total  Time elapsed: 0.01 s  <<< FAILURE!\njava.lang.AssertionError: "
           "expected:<42> but "
           "was:<41>\n" +
           noise("\tat org.junit.Assert.fail{}(Assert.java:89)", 40),
       "java.lang.AssertionError: expected:<42> but was:<41>", "Running com.acme.T"},
      {"rspec",
       noise("Installing gem{} 1.0.{}", 100) +
           "Failures:\n\n  1) Cart#total sums items\n     Failure/Error: expect(cart.total).to eq(42)\n\n"
           "       expected: 42\n            got: 41\n\n# ./spec/cart_spec.rb:8:in `block (2 levels) in <top "
           "(required)>'\n"
           "Finished in 0.1 seconds\n5 examples, 1 failure\n",
       "Failure/Error: expect(cart.total).to eq(42)", "Installing gem"},
  };
}

TEST(LogReducer, KeepsTheDecisiveLineDropsNoiseAndHoldsTheBound) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.ecosystem);
    LogReduceOptions opt;
    opt.max_tokens = 256;
    ReducedLog r = reduce_log(c.log, opt);
    EXPECT_NE(r.text.find(c.decisive), std::string::npos) << r.text;
    // The noise run is folded into one line and a count, or left out.
    std::size_t mentions = 0;
    for (std::size_t p = r.text.find(c.noise); p != std::string::npos; p = r.text.find(c.noise, p + 1)) ++mentions;
    EXPECT_LE(mentions, 1u) << r.text;
    EXPECT_LE(r.tokens, 256);
    EXPECT_EQ(r.tokens, estimate_tokens(r.text));
    EXPECT_LT(r.text.size(), c.log.size() / 3);
    EXPECT_TRUE(valid_utf8(r.text));
    EXPECT_GT(r.decisive_lines, 0u);
  }
}

TEST(LogReducer, IdenticalInputGivesIdenticalOutput) {
  for (const auto& c : cases()) {
    LogReduceOptions opt;
    opt.max_tokens = 128;
    EXPECT_EQ(reduce_log(c.log, opt).text, reduce_log(c.log, opt).text) << c.ecosystem;
  }
}

TEST(LogReducer, TightBudgetsStillHoldAndKeepTheFirstError) {
  const std::string log = noise("Compiling unit{}", 300) + "src/a.c:1:1: error: first problem\n" +
                          noise("note: something {}", 300) + "src/b.c:2:2: error: second problem\n" +
                          noise("make[{}]: Leaving directory", 50);
  for (int budget : {1, 8, 16, 32, 64, 100, 1000}) {
    LogReduceOptions opt;
    opt.max_tokens = budget;
    ReducedLog r = reduce_log(log, opt);
    EXPECT_LE(r.tokens, budget) << budget;
    EXPECT_TRUE(valid_utf8(r.text));
    // The first error survives, cut to the budget when even it alone is too long.
    if (budget >= 8) {
      EXPECT_NE(r.text.find("src/a.c"), std::string::npos) << r.text;
    }
    if (budget >= 32) {
      EXPECT_NE(r.text.find("src/a.c:1:1: error: first problem"), std::string::npos) << r.text;
    }
    if (budget >= 100) {
      EXPECT_NE(r.text.find("second problem"), std::string::npos) << r.text;
    }
  }
}

TEST(LogReducer, ShortCleanLogsPassThroughCleaned) {
  ReducedLog r = reduce_log("2024-01-01T00:00:00Z ##[error]boom\n\x1b[31mred\x1b[0m\n");
  EXPECT_EQ(r.text, "error: boom\nred");
  EXPECT_EQ(r.original_lines, 2u);
  EXPECT_EQ(r.kept_lines, 2u);
}

TEST(LogReducer, RepeatedLinesCollapseWithACount) {
  ReducedLog r = reduce_log("retrying in 1s\nretrying in 2s\nretrying in 4s\nerror: gave up\n");
  EXPECT_EQ(r.text, "retrying in 1s\n... (2 similar lines)\nerror: gave up");
}

TEST(LogReducer, GapsAreMarked) {
  LogReduceOptions opt;
  opt.max_tokens = 40;
  opt.head_lines = 0;
  opt.tail_lines = 0;
  opt.context_lines = 0;
  std::string log;
  for (int i = 0; i < 50; ++i) log += "step" + std::string(1, static_cast<char>('a' + i % 26)) + " unique words here\n";
  log += "error: the one\n";
  ReducedLog r = reduce_log(log, opt);
  EXPECT_EQ(r.text, "... (50 lines omitted)\nerror: the one");
}

TEST(LogReducer, InvalidUtf8IsReplacedNotRejected) {
  const std::string log = "ok line\n\xff\xfe broken bytes\nerror: bad \xc3 byte\n";
  ReducedLog r = reduce_log(log);
  EXPECT_TRUE(r.invalid_utf8);
  EXPECT_TRUE(valid_utf8(r.text));
  EXPECT_NE(r.text.find("error: bad \xEF\xBF\xBD byte"), std::string::npos) << r.text;
}

TEST(LogReducer, LongLinesAreCutOnACodePointBoundary) {
  std::string line = "error: ";
  for (int i = 0; i < 400; ++i) line += "é";  // two bytes each
  LogReduceOptions opt;
  opt.max_line_bytes = 101;
  ReducedLog r = reduce_log(line, opt);
  EXPECT_TRUE(valid_utf8(r.text));
  EXPECT_LE(r.text.size(), 101u + 3u);
  EXPECT_EQ(r.text.substr(r.text.size() - 3), "…");
}

TEST(LogReducer, UsesTheBackendTokenCounterWhenGiven) {
  LogReduceOptions opt;
  opt.max_tokens = 10;
  opt.count_tokens = [](std::string_view text) { return static_cast<int>(text.size()); };  // one per byte
  ReducedLog r = reduce_log(noise("line {}", 100) + "error: x\n", opt);
  EXPECT_LE(r.text.size(), 10u);
  EXPECT_EQ(r.tokens, static_cast<int>(r.text.size()));
  EXPECT_NE(r.text.find("error: x"), std::string::npos) << r.text;
}

TEST(LogReducer, EmptyAndBlankInput) {
  EXPECT_EQ(reduce_log("").text, "");
  EXPECT_EQ(reduce_log("\n\n----\n   \n").text, "");
}

}  // namespace
}  // namespace ladder
