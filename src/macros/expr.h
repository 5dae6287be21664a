// Values, templates and predicates of macro steps, evaluated against a scope (a JSON
// object: {args, steps, now, <loop variable>, index}).
//
// A value expression is JSON:
//   {ref: "/json/pointer"}            the typed value at that pointer (must exist)
//   {ref: "/pointer", default: V}     ... or V when it does not
//   {literal: V}                      V as it is, not evaluated
//   {length_of: V}                    the number of items (list, object) or bytes (string)
//   {test: P}                         the predicate P as true or false
//   "text with {{args.owner}}"        a Mustache template (kainjow), rendered to a string
//   objects and arrays                evaluated member by member
//   other scalars                     themselves
// A predicate is true/false, {all: [...]}, {any: [...]}, {not: P}, or a comparison
// {ref: "/p" | value: V, <op>: operand} with op one of equals, not_equals, in, not_in,
// contains, matches (RE2), exists, empty, gt, gte, lt, lte, older_than_days,
// newer_than_days (RFC 3339 timestamps against the scope's /now).
// Templates name variables with dots ({{pr.user.login}}); a variable that is not in the
// scope is an error, not an empty string.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder::macros {

// How rendered variables are escaped: kNone for JSON bodies and headers, kUrlComponent
// percent-encodes everything but unreserved characters (path segments, query values).
enum class Escape { kNone, kUrlComponent };

struct ExprProblem {
  std::string path;  // relative to the expression ("", "all[1].ref")
  std::string what;
};

bool is_template(const std::string& text);
Result<std::string> render_template(const std::string& text, const nlohmann::json& scope,
                                    Escape escape = Escape::kNone);
Result<nlohmann::json> eval_value(const nlohmann::json& expr, const nlohmann::json& scope);
Result<bool> eval_predicate(const nlohmann::json& predicate, const nlohmann::json& scope);

// Load-time checks (shape, pointers, template syntax, regexes); empty when fine.
std::vector<ExprProblem> check_value(const nlohmann::json& expr);
std::vector<ExprProblem> check_predicate(const nlohmann::json& predicate);
std::vector<ExprProblem> check_template(const std::string& text);

// Percent-encodes all but A-Z a-z 0-9 - . _ ~
std::string url_encode(const std::string& text);
// RFC 3339 / ISO 8601 "2026-11-01T12:00:00Z" (offsets and fractions accepted) -> seconds
// since the epoch; false when it does not parse.
bool parse_timestamp(const std::string& text, long long& seconds);
std::string format_timestamp(long long seconds);

}  // namespace ladder::macros
