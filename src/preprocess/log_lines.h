// Line-level rules of the log reducer: what noise a line carries, which lines repeat one
// another, and which lines decide a failure. RE2 patterns, compiled once.
#pragma once

#include <string>
#include <string_view>

namespace ladder {

// One physical log line without its noise: ANSI escapes, carriage-return progress
// redraws (the last redraw is kept), leading timestamps (ISO 8601, GitHub Actions'
// 2024-01-01T00:00:00.1234567Z, [12:34:56], 12:34:56.789) and CI prefixes (##[group],
// ##[endgroup], ##[command], ##[section], ::group::, Maven's [INFO]). Levels that decide
// ("##[error]", "::error ...::", "[ERROR]", "##[warning]") become a plain "error: " /
// "warning: " word. Trailing whitespace goes. Input must be valid UTF-8.
std::string clean_log_line(std::string_view line);

// True when a cleaned line carries nothing to read (empty, only rules like "-----").
bool blank_log_line(std::string_view cleaned);

// The key under which near-repeated lines collapse: digits, hex ids and quoted values
// masked, whitespace collapsed, lower-cased.
std::string log_line_key(std::string_view cleaned);

// A coarser key for runs of similar noise lines (download progress, stack frames): the
// first two words of log_line_key.
std::string log_line_family(std::string_view key);

// True when the cleaned line states an error or failure (compiler errors, failed tests,
// panics, tracebacks, non-zero exits, npm ERR!, BUILD FAILURE, ...), and is not a
// zero-count summary ("0 errors", "Failures: 0").
bool decisive_log_line(std::string_view cleaned);

}  // namespace ladder
