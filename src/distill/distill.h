// Pure logic behind `ladder distill`: parse a JSONL log of agent tool calls, find the
// contiguous tool sequences that repeat across sessions, and suggest a macro skeleton
// (steps plus an input JSON Schema) for each. No I/O besides parsing the text it is given.
// The log format and the skeleton scheme are documented in docs/distill.md.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder::distill {

// A point in time: seconds since the Unix epoch plus nanoseconds in [0, 1e9).
struct Timestamp {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  auto operator<=>(const Timestamp&) const = default;  // NOLINT(modernize-use-nullptr): clang-tidy on <=>
};

// Parses an RFC 3339 date-time ("2026-11-01T10:00:00Z", "2026-11-01T12:00:00.25+02:00").
// Fractional digits past nanoseconds are truncated. kInvalidArgument when malformed.
Result<Timestamp> parse_rfc3339(std::string_view text);

// One line of the log, parsed into a domain type at once.
struct ToolCall {
  std::string session;
  std::string tool;
  nlohmann::json args;  // always an object
  Timestamp ts;
  std::size_t line = 0;  // 1-based line in the log
};

// Parses JSONL text. Blank lines are skipped; keys other than session/ts/tool/args are
// ignored. Every bad line is reported as "<source>:<line>: <what>", one per line of the
// message (the first kMaxReportedErrors of them), with kParseError.
inline constexpr std::size_t kMaxReportedErrors = 20;
Result<std::vector<ToolCall>> parse_log(std::string_view text, std::string_view source);

enum class ArgRole {
  kConstant,  // same value in every occurrence: part of the step, not an input
  kInput,     // varies: an input property "<step>_<arg>"
  kWired,     // always equals an earlier step's input: taken from it, not a new input
};

struct StepArg {
  std::string name;
  ArgRole role = ArgRole::kConstant;
  nlohmann::json value;  // kConstant: the value
  std::string property;  // kInput: its own property; kWired: the earlier property it takes
};

struct Step {
  std::string tool;
  std::vector<StepArg> args;  // sorted by name
};

struct Sequence {
  std::string name;                   // "<first_tool>_<last_tool>_v<n>", [a-z0-9_]
  std::vector<std::string> tools;     // in call order, at least 2
  std::vector<std::string> sessions;  // sorted session ids it occurs in
  std::size_t occurrences = 0;        // occurrences over all sessions
  std::vector<Step> steps;            // one per tool
  nlohmann::json input_schema;        // JSON Schema of the inputs
  std::string encoded_by;             // the macro that already does these calls, if any
};

// A macro's `replaces` list: the agent tool calls it does in one go.
struct EncodedTools {
  std::string macro;
  std::vector<std::string> tools;
};

// Marks each sequence whose tools appear, in order and contiguous, in some macro's
// `replaces` list as encoded by that macro; returns how many remain unencoded.
std::size_t mark_encoded(std::vector<Sequence>& sequences, const std::vector<EncodedTools>& macros);

struct DistillOptions {
  std::size_t min_sessions = 2;  // K: a sequence must occur in at least this many sessions
};

// Groups calls by session, orders each session by ts (stable), and returns the maximal
// repeated sequences, longest first, then most sessions, then by tool names.
// kInvalidArgument when min_sessions is 0.
Result<std::vector<Sequence>> find_sequences(const std::vector<ToolCall>& calls, const DistillOptions& options);

// "<first>_<last>" with every byte outside [a-z0-9_] (after lowering ASCII) turned into '_'.
std::string macro_base_name(const std::string& first_tool, const std::string& last_tool);

// The exit rule of `ladder distill`: true (exit 1) when more than `threshold` sequences are
// unencoded (with --policy, sequences a macro replaces are encoded).
inline bool exceeds_threshold(std::size_t unencoded, std::size_t threshold) { return unencoded > threshold; }

nlohmann::json to_json(const Sequence& sequence);
std::string_view arg_role_name(ArgRole role);

}  // namespace ladder::distill
