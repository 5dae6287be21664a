#include "ui/ui_api.h"

#include <algorithm>
#include <cctype>

#include "ladder/reason.h"
#include "ladder/utf8.h"
#include "server/openai_api.h"
#include "store/record_fields.h"
#include "store/stats.h"

namespace ladder::ui {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxQueryBytes = 2048;
constexpr std::size_t kMaxNoteBytes = 4000;

json field_or_null(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() ? *it : json(nullptr);
}

Status bad(std::string message) { return make_error(ErrorCode::kInvalidArgument, std::move(message)); }

// kInvalidArgument about the field `field`, named in `param`.
Status bad_field(std::string* param, std::string_view field, std::string message) {
  if (param) *param = std::string(field);
  return bad(std::move(message));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      const int lo = hi < 0 ? -1 : hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return bad("bad percent escape in the query string");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// A count in [lo, hi] written in decimal digits.
Result<std::int64_t> bounded_int(const std::string& text, std::int64_t lo, std::int64_t hi, const std::string& key) {
  const bool digits = !text.empty() && text.size() <= 18 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const std::int64_t v = digits ? std::stoll(text) : -1;
  if (!digits || v < lo || v > hi)
    return bad(key + ": expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  return v;
}

Result<std::int64_t> duration(const std::string& text, const std::string& key) {
  auto s = store::parse_duration_seconds(text);
  if (!s.ok() || *s <= 0) return bad(key + ": expected a duration like 90s, 30m, 24h or 7d");
  return *s;
}

Status known_keys(const std::map<std::string, std::string>& query, std::initializer_list<std::string_view> keys,
                  std::string* param) {
  for (const auto& [key, value] : query) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      return bad_field(param, key.substr(0, 64), "unknown query parameter '" + key.substr(0, 64) + "'");
  }
  return {};
}

Status task_of_policy(const std::string& task, const Config& config) {
  if (!config.find_task(task)) return make_error(ErrorCode::kNotFound, "task: no task '" + task + "' in the policy");
  return {};
}

// The model that gave the decision's answer: the last tier that answered ok.
std::string answering_model(const json& record) {
  std::string model;
  if (auto tiers = record.find("tiers"); tiers != record.end() && tiers->is_array())
    for (const auto& t : *tiers)
      if (t.is_object() && t.value("ok", false)) model = store::string_field(t, "model_name");
  return model;
}

bool tried_model(const json& record, const std::string& model) {
  if (auto tiers = record.find("tiers"); tiers != record.end() && tiers->is_array())
    for (const auto& t : *tiers)
      if (t.is_object() && store::string_field(t, "model_name") == model) return true;
  return false;
}

json summary(const store::StoredDecision& d) {
  const json& r = d.record;
  return {{"id", d.id},
          {"ts", field_or_null(r, "ts")},
          {"task", field_or_null(r, "task")},
          {"route", field_or_null(r, "route")},
          {"reason", field_or_null(r, "reason")},
          {"label", field_or_null(r, "label")},
          {"macro", field_or_null(r, "macro")},
          {"confidence", field_or_null(r, "confidence")},
          {"model", answering_model(r)},
          {"total_ms", field_or_null(r, "total_ms")},
          {"preview", field_or_null(r, "preview")},
          {"review", d.review.empty() ? json(nullptr) : json(d.review)}};
}

}  // namespace

Result<json> json_body(std::string_view body, std::initializer_list<std::string_view> fields, std::string* param) {
  if (!valid_utf8(body)) return make_error(ErrorCode::kInvalidUtf8, "the body is not valid UTF-8");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::kParseError, "expected a JSON object");
  for (const auto& [key, value] : j.items())
    if (std::find(fields.begin(), fields.end(), key) == fields.end())
      return bad_field(param, key.substr(0, 64), "unknown field " + key.substr(0, 64));
  return j;
}

// ---- access -------------------------------------------------------------------------------

Result<std::string> authorize(const ApiAccess& access, const ApiRequestHead& head) {
  const bool keys = access.keys != nullptr && !access.keys->empty();
  if (access.admin_token.empty() && !keys)
    return make_error(ErrorCode::kPermissionDenied,
                      "the UI's data is off: start ladder serve with --admin-token-env or --api-keys-file");
  const std::string_view presented = server::presented_key(head.authorization, head.x_api_key);
  if (!presented.empty()) {
    if (!access.admin_token.empty() && server::secrets_equal(presented, access.admin_token))
      return std::string("admin");
    if (keys)
      if (auto name = access.keys->identify(presented)) return *name;
  }
  return make_error(ErrorCode::kUnauthenticated,
                    "missing or wrong token (send Authorization: Bearer <admin token or API key>)");
}

Status check_request_guards(const ApiRequestHead& head, std::string* param) {
  auto set = [param](const char* p) {
    if (param) *param = p;
  };
  if (head.sec_fetch_site == "cross-site" || head.sec_fetch_site == "same-site") {
    set("Sec-Fetch-Site");
    return make_error(ErrorCode::kPermissionDenied, "cross-site requests are refused");
  }
  if (!head.origin.empty() && head.origin != "http://" + head.host && head.origin != "https://" + head.host) {
    set("Origin");
    return make_error(ErrorCode::kPermissionDenied, "requests from another origin are refused");
  }
  if (!head.post) return {};
  std::string type = head.content_type.substr(0, head.content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  if (type != "application/json") {
    set("Content-Type");
    return bad("Content-Type: expected application/json");
  }
  if (head.body_bytes > kMaxApiBodyBytes)
    return make_error(ErrorCode::kPayloadTooLarge,
                      "request body is larger than " + std::to_string(kMaxApiBodyBytes) + " bytes");
  return {};
}

std::vector<std::pair<std::string, std::string>> security_headers() {
  return {{"Content-Security-Policy",
           "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"},
          {"X-Content-Type-Options", "nosniff"},
          {"X-Frame-Options", "DENY"},
          {"Referrer-Policy", "no-referrer"},
          {"Cross-Origin-Opener-Policy", "same-origin"},
          {"Cache-Control", "no-store"}};
}

// ---- filters ------------------------------------------------------------------------------

Result<std::map<std::string, std::string>> parse_query(std::string_view query, std::string* param) {
  std::map<std::string, std::string> out;
  if (query.size() > kMaxQueryBytes) return bad("the query string is longer than 2048 bytes");
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key.ok()) return key.status();
    if (!value.ok()) return value.status();
    if (!valid_utf8(*key) || !valid_utf8(*value)) {
      if (param) *param = valid_utf8(*key) ? key->substr(0, 64) : "";
      return make_error(ErrorCode::kInvalidUtf8, "the query string is not valid UTF-8");
    }
    if (out.count(*key)) {
      if (param) *param = key->substr(0, 64);
      return bad("query parameter '" + key->substr(0, 64) + "' given twice");
    }
    out[*key] = std::move(*value);
  }
  return out;
}

Result<DecisionQuery> parse_decision_query(const std::map<std::string, std::string>& query, const Config& config,
                                           std::string* param) {
  if (Status s = known_keys(query, {"since", "task", "route", "reason", "model", "limit", "offset"}, param); !s.ok())
    return s;
  DecisionQuery q;
  for (const auto& [key, value] : query) {
    if (param) *param = key;
    if (value.empty()) continue;
    if (key == "since") {
      auto s = duration(value, key);
      if (!s.ok()) return s.status();
      q.since_seconds = *s;
    } else if (key == "task") {
      if (Status s = task_of_policy(value, config); !s.ok()) return s;
      q.task = value;
    } else if (key == "route") {
      if (value != "local" && value != "frontier" && value != "refused")
        return bad("route: expected local, frontier or refused");
      q.route = value;
    } else if (key == "reason") {
      if (!reason_from_name(value)) return bad("reason: not a reason of ladder's vocabulary");
      q.reason = value;
    } else if (key == "model") {
      if (!config.models.count(value)) return make_error(ErrorCode::kNotFound, "model: no model of that name");
      q.model = value;
    } else if (key == "limit") {
      auto n = bounded_int(value, 1, 500, key);
      if (!n.ok()) return n.status();
      q.limit = *n;
    } else if (key == "offset") {
      auto n = bounded_int(value, 0, 1000000000, key);
      if (!n.ok()) return n.status();
      q.offset = *n;
    }
  }
  if (param) param->clear();
  return q;
}

store::DecisionFilter store_filter(const DecisionQuery& q) {
  store::DecisionFilter f;
  if (q.since_seconds > 0) f.since_ts = store::rfc3339_seconds_ago(q.since_seconds);
  f.task = q.task;
  return f;
}

bool matches(const store::StoredDecision& d, const DecisionQuery& q) {
  const json& r = d.record;
  if (!store::is_routing_decision(r)) return false;
  const std::string route = store::string_field(r, "route");
  if (!q.task.empty() && store::string_field(r, "task") != q.task) return false;
  if (!q.route.empty() && route != q.route) return false;
  if (!q.reason.empty() && store::string_field(r, "reason") != q.reason) return false;
  if (!q.model.empty() && !tried_model(r, q.model)) return false;
  return true;
}

json decisions_page(const std::vector<store::StoredDecision>& decisions, const DecisionQuery& q) {
  json rows = json::array();
  std::int64_t total = 0;
  for (auto it = decisions.rbegin(); it != decisions.rend(); ++it) {
    if (!matches(*it, q)) continue;
    if (total >= q.offset && total < q.offset + q.limit) rows.push_back(summary(*it));
    ++total;
  }
  return {{"total", total}, {"offset", q.offset}, {"limit", q.limit}, {"decisions", std::move(rows)}};
}

json decision_detail(const store::StoredDecision& d) {
  const json& r = d.record;
  const json stages = r.contains("stages") && r["stages"].is_object() ? r["stages"] : json::object();
  auto stage = [&stages](const char* name) {
    return stages.contains(name) && stages[name].is_number() ? stages[name] : json(nullptr);
  };
  const json tiers = r.contains("tiers") && r["tiers"].is_array() ? r["tiers"] : json::array();
  json local_tiers = json::array(), escalations = json::array();
  for (const auto& t : tiers) (t.value("tier", 0) == 0 ? local_tiers : escalations).push_back(t);
  const bool escalated = store::string_field(r, "route") != "local";
  // What the escalation packet carried (escalation_packet(), src/router/prompt.h): the
  // record keeps digests and sizes, never the packet's text.
  json packet = nullptr;
  if (escalated)
    packet = {{"task", field_or_null(r, "task")},
              {"reason", field_or_null(r, "reason")},
              {"input_sha256", field_or_null(r, "input_sha256")},
              {"input",
               r.contains("reduction") && r["reduction"].is_object() ? json("reduced") : json("the request's input")},
              {"local_answer_sha256", field_or_null(r, "local_answer_sha256")},
              {"sent_to", escalations}};
  return {{"id", d.id},
          {"summary", summary(d)},
          {"path",
           {{"screen",
             {{"gates_ms", stage("gates")},
              {"hard_stop_scan_ms", stage("hard_stop_scan")},
              {"hard_stop", field_or_null(r, "hard_stop")},
              {"local_ran", field_or_null(r, "local_ran")}}},
            {"reduce", field_or_null(r, "reduction")},
            {"local",
             {{"tries", r.contains("local_tries") ? r["local_tries"] : json::array()},
              {"tiers", local_tiers},
              {"confidence", field_or_null(r, "confidence")},
              {"measured_confidence", field_or_null(r, "measured_confidence")},
              {"label", field_or_null(r, "label")},
              {"macro", field_or_null(r, "macro")},
              {"args", field_or_null(r, "args")},
              {"json_valid", field_or_null(r, "local_json_valid")},
              {"answer_sha256", field_or_null(r, "local_answer_sha256")}}},
            {"validators", r.contains("validators") ? r["validators"] : json::array()},
            {"tiers", tiers},
            {"escalation",
             {{"escalated", escalated},
              {"reason", field_or_null(r, "reason")},
              {"detail", field_or_null(r, "reason_detail")},
              {"frontier_ok", field_or_null(r, "frontier_ok")},
              {"frontier_error", field_or_null(r, "frontier_error")},
              {"packet", packet}}},
            {"stages_ms", stages},
            {"total_ms", field_or_null(r, "total_ms")}}},
          {"review", d.review.empty() ? json(nullptr) : json{{"label", d.review}, {"note", d.review_note}}},
          {"record", r}};
}

Result<std::int64_t> parse_decision_id(std::string_view text) {
  const bool digits = !text.empty() && text.size() <= 18 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const std::int64_t id = digits ? std::stoll(std::string(text)) : 0;
  if (id <= 0) return bad("id: expected a decision id (a positive integer)");
  return id;
}

Result<ReviewInput> parse_review(std::string_view body, std::string* param) {
  auto parsed = json_body(body, {"label", "note"}, param);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  auto fail = [param](const char* p, std::string message) { return bad_field(param, p, std::move(message)); };
  ReviewInput in;
  if (!j.contains("label") || !j["label"].is_string() || (j["label"] != "accept" && j["label"] != "defect"))
    return fail("label", "label: expected accept or defect");
  in.label = j["label"].get<std::string>();
  if (j.contains("note") && !j["note"].is_null()) {
    if (!j["note"].is_string()) return fail("note", "note: expected a string");
    in.note = j["note"].get<std::string>();
    if (in.note.size() > kMaxNoteBytes) return fail("note", "note: at most 4000 bytes");
  }
  return in;
}

Result<PlaygroundInput> parse_playground_route(std::string_view body, std::string* param) {
  auto parsed = json_body(body, {"task", "input", "privacy"}, param);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  auto fail = [param](const char* p, std::string message) { return bad_field(param, p, std::move(message)); };
  PlaygroundInput in;
  if (!j.contains("input") || !j["input"].is_string() || j["input"].get_ref<const std::string&>().empty())
    return fail("input", "input: expected a non-empty string");
  in.input = j["input"].get<std::string>();
  if (j.contains("task") && !j["task"].is_null()) {
    if (!j["task"].is_string()) return fail("task", "task: expected a string");
    in.task = j["task"].get<std::string>();
    if (!in.task.empty())
      if (Status s = server::check_task_name(in.task, "task", param); !s.ok()) return s;
  }
  if (j.contains("privacy") && !j["privacy"].is_null()) {
    if (!j["privacy"].is_boolean()) return fail("privacy", "privacy: expected true or false");
    in.privacy = j["privacy"].get<bool>();
  }
  return in;
}

json meta_json(const Config& config) {
  static constexpr const char* kKinds[] = {"classify", "extract", "generate", "route_macro"};
  json tasks = json::array();
  for (const auto& [name, t] : config.tasks)
    tasks.push_back({{"name", name}, {"kind", kKinds[static_cast<int>(t.kind)]}, {"description", t.description}});
  json models = json::array();
  for (const auto& [name, m] : config.models) models.push_back(name);
  json reasons = json::array();
  for (int i = 0; i <= static_cast<int>(Reason::kManualOverride); ++i)
    reasons.push_back(std::string(reason_name(static_cast<Reason>(i))));
  json macros = json::array();
  for (const auto& m : config.macros)
    macros.push_back({{"id", m.id}, {"intent", m.intent}, {"irreversible_when", m.irreversible_when}});
  return {{"tasks", tasks},
          {"models", models},
          {"routes", {"local", "frontier", "refused"}},
          {"reasons", reasons},
          {"macros", macros},
          {"store", config.store.kind == StoreConfig::Kind::kJsonl ? "jsonl" : "database"}};
}

}  // namespace ladder::ui
