// The web UI's JSON API without HTTP (docs/ui.md): who may call it and what guards it
// against cross-site requests, the filters of the decision list and the dashboard, a
// decision's whole path, the review body, and the dashboard's series. Pure functions over
// stored decisions and the policy; ui_endpoints.cpp puts them on the wire.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/config.h"
#include "ladder/status.h"
#include "server/auth.h"
#include "store/record_store.h"

namespace ladder::ui {

// ---- access -------------------------------------------------------------------------------
// What a /ui/api request presents, read from its head before anything else runs.
struct ApiRequestHead {
  bool post = false;
  std::string authorization;   // Authorization
  std::string x_api_key;       // x-api-key
  std::string content_type;    // Content-Type
  std::string origin;          // Origin (browsers send it on cross-origin requests and on POSTs)
  std::string host;            // Host
  std::string sec_fetch_site;  // Sec-Fetch-Site (same-origin, cross-site, ...)
  std::size_t body_bytes = 0;
};

// Who may call the API: the admin token, or any key of the keys file.
struct ApiAccess {
  std::string admin_token;                // empty: not accepted
  const server::KeyRing* keys = nullptr;  // null or empty: no key accepted
};

inline constexpr std::size_t kMaxApiBodyBytes = 64 * 1024;

// The caller's name ("admin", or the key's name), or why not: kPermissionDenied when
// neither an admin token nor keys are configured (the UI's data is then off),
// kUnauthenticated for a missing or wrong credential. Compared in constant time.
Result<std::string> authorize(const ApiAccess& access, const ApiRequestHead& head);

// The cross-site guards, after authorize(): a request a browser marks cross-site, or
// whose Origin is not this server's, is kPermissionDenied (param "Origin"); a POST must
// say Content-Type: application/json (kInvalidArgument, param "Content-Type"; a form
// cannot) and carry at most kMaxApiBodyBytes (kPayloadTooLarge).
Status check_request_guards(const ApiRequestHead& head, std::string* param);

// The headers every /ui reply carries: CSP default-src 'self' (no inline script or
// style, no frames), nosniff, X-Frame-Options DENY, no referrer, no caching of data.
std::vector<std::pair<std::string, std::string>> security_headers();

// ---- filters ------------------------------------------------------------------------------
// "a=1&b=x%20y" -> {a: "1", b: "x y"} ('+' is a space). kInvalidArgument for a bad
// escape, a repeated key or more than 2048 bytes; kInvalidUtf8 when a value is not UTF-8.
Result<std::map<std::string, std::string>> parse_query(std::string_view query, std::string* param);

struct DecisionQuery {
  std::int64_t since_seconds = 0;  // 0: all time
  std::string task;
  std::string route;   // local | frontier | refused
  std::string reason;  // a reason of the vocabulary
  std::string model;   // a model key under models: that any tier tried
  std::int64_t limit = 50;
  std::int64_t offset = 0;
};
// Keys: since (a duration: 90s, 30m, 24h, 7d), task (of the policy), route, reason, model
// (of the policy), limit (1-500), offset (>= 0). Anything else, or a bad value, is
// kInvalidArgument with the key as `param` (kNotFound for a task or model the policy
// does not define).
Result<DecisionQuery> parse_decision_query(const std::map<std::string, std::string>& query, const Config& config,
                                           std::string* param);
// The store filter that pre-selects for `q` (time and task); the rest is matches().
store::DecisionFilter store_filter(const DecisionQuery& q);
bool matches(const store::StoredDecision& d, const DecisionQuery& q);

// {"total", "offset", "limit", "decisions": [summary...]}: the routed decisions that
// match, newest first. A summary: id, ts, task, route, reason, label, macro, confidence,
// model (the one that answered), total_ms, review.
nlohmann::json decisions_page(const std::vector<store::StoredDecision>& decisions, const DecisionQuery& q);

// One decision's whole path, in the order it happened: screen (gates' time, the
// hard-stop match, the escalation rule that fired before any model), reduce (what the
// local model and the escalation packet read), local (each local tier's try with its
// confidence, the local answer's digest), validators (each verdict), tiers (each model
// tried, with latency and tokens), escalation (reason, detail, what the packet carried),
// answer, review; plus the record itself.
nlohmann::json decision_detail(const store::StoredDecision& d);

// A JSON object body with no field but `fields`: kInvalidUtf8, kParseError, or
// kInvalidArgument naming the unknown field as `param`.
Result<nlohmann::json> json_body(std::string_view body, std::initializer_list<std::string_view> fields,
                                 std::string* param);

// "/ui/api/decisions/123" tail -> 123; kInvalidArgument (param "id") unless a positive
// decimal of at most 18 digits.
Result<std::int64_t> parse_decision_id(std::string_view text);

struct ReviewInput {
  std::string label;  // accept | defect
  std::string note;
};
// {"label": "accept"|"defect", "note"?: string of at most 4000 bytes}, nothing else
// (the same rules as `ladder review label`). kParseError, kInvalidUtf8, kInvalidArgument
// with `param`.
Result<ReviewInput> parse_review(std::string_view body, std::string* param);

struct PlaygroundInput {
  std::string task;  // empty: picked from the input by ladder/auto's keyword classifier
  std::string input;
  bool privacy = false;
};
// {"task"?: a task name, "input": a non-empty string, "privacy"?: boolean}, nothing else.
// kParseError, kInvalidUtf8, kInvalidArgument with `param`.
Result<PlaygroundInput> parse_playground_route(std::string_view body, std::string* param);

// What the pages' menus offer: tasks (name, kind, description), models, routes, reasons,
// macros (id, description, irreversible).
nlohmann::json meta_json(const Config& config);

// ---- dashboard ----------------------------------------------------------------------------
struct DashboardQuery {
  std::int64_t since_seconds = 7 * 86400;
  std::string task;
  std::int64_t bucket_seconds = 0;  // 0: since / 24, at least a minute
};
// Keys: since (default 7d), task, bucket (a duration; at most 500 buckets). As
// parse_decision_query for bad values.
Result<DashboardQuery> parse_dashboard_query(const std::map<std::string, std::string>& query, const Config& config,
                                             std::string* param);

// The dashboard over routed decisions (pass-through calls are not decisions):
// "totals" (the six metrics, as `ladder stats --json`), "series" (the same per time
// bucket, oldest first: local_acceptance, escalation_rate by task, failure_reasons,
// defect_rate, fallback p50/p95, cost, cost_per_successful_task, all_frontier_cost,
// saving), "escalations_by_task" (task -> reason -> count), "stages" (stage -> latency
// summary), "reliability" (bins of confidence against accuracy over reviewed local
// answers, with ece and brier), "drift" (as `ladder stats --drift --json`, one window per
// bucket). `now` is seconds since the epoch.
nlohmann::json dashboard_json(const std::vector<store::StoredDecision>& decisions, const Config& config,
                              const DashboardQuery& q, std::int64_t now);

}  // namespace ladder::ui
