#include "cli/eval_score.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "calibration/metrics.h"

namespace ladder::cli {
namespace {

Status line_error(const std::string& source, std::size_t line, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, source + ":" + std::to_string(line) + ": " + what);
}

std::optional<std::string> optional_string(const nlohmann::json& obj, const char* key, bool& bad) {
  if (!obj.contains(key)) return std::nullopt;
  if (!obj[key].is_string()) {
    bad = true;
    return std::nullopt;
  }
  return obj[key].get<std::string>();
}

double share(int num, int den) { return den == 0 ? 0.0 : static_cast<double>(num) / den; }

}  // namespace

Result<std::vector<EvalCase>> parse_corpus(std::string_view text, const std::string& source) {
  std::vector<EvalCase> cases;
  std::unordered_map<std::string, std::size_t> id_lines;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    ++line_no;
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      if (end == text.size()) break;
      continue;
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      return line_error(source, line_no, std::string("malformed JSON: ") + e.what());
    }
    if (!j.is_object()) return line_error(source, line_no, "expected a JSON object");
    EvalCase c;
    c.line = line_no;
    for (const char* key : {"id", "task", "input"}) {
      if (!j.contains(key) || !j[key].is_string())
        return line_error(source, line_no, std::string(key) + ": expected a string");
    }
    c.id = j["id"];
    if (auto [it, fresh] = id_lines.emplace(c.id, line_no); !fresh)
      return line_error(source, line_no,
                        "duplicate id '" + c.id + "' (first on line " + std::to_string(it->second) + ")");
    c.task = j["task"];
    c.input = j["input"];
    if (!j.contains("expect") || !j["expect"].is_object())
      return line_error(source, line_no, "expect: expected an object");
    const auto& e = j["expect"];
    if (!e.contains("route") || !e["route"].is_string() || (e["route"] != "local" && e["route"] != "frontier"))
      return line_error(source, line_no, "expect.route: expected \"local\" or \"frontier\"");
    c.expect_route = e["route"];
    bool bad = false;
    c.expect_label = optional_string(e, "label", bad);
    if (bad) return line_error(source, line_no, "expect.label: expected a string");
    c.expect_reason = optional_string(e, "reason", bad);
    if (bad) return line_error(source, line_no, "expect.reason: expected a string");
    c.expect_macro = optional_string(e, "macro", bad);
    if (bad) return line_error(source, line_no, "expect.macro: expected a string");
    if (e.contains("args")) {
      if (!e["args"].is_object()) return line_error(source, line_no, "expect.args: expected an object");
      c.expect_args = e["args"];
    }
    c.split = optional_string(j, "split", bad);
    if (bad) return line_error(source, line_no, "split: expected a string");
    cases.push_back(std::move(c));
    if (end == text.size()) break;
  }
  if (cases.empty()) return make_error(ErrorCode::kInvalidArgument, source + ": the corpus has no cases");
  return cases;
}

CaseOutcome score_case(const EvalCase& c, const Decision& d) {
  CaseOutcome o;
  o.id = c.id;
  o.task = c.task;
  if (!d.local_tries.empty()) o.local_tier = d.local_tries.back().tier_name;
  o.expect_route = c.expect_route;
  o.route = d.route == "local" ? "local" : "frontier";
  o.reason = d.reason ? std::string(reason_name(*d.reason)) : "";
  o.expect_reason = c.expect_reason;
  o.label = d.label;
  o.expect_label = c.expect_label.value_or("");
  o.macro = d.macro;
  o.expect_macro = c.expect_macro.value_or("");
  o.args = d.args.is_null() ? nlohmann::json::object() : d.args;
  o.expect_args = c.expect_args.value_or(nlohmann::json::object());
  o.local_ran = d.local_ran;
  o.json_valid = d.local_json_valid;
  o.confidence = d.confidence;
  for (const auto& s : d.stages)
    if (s.stage == "time_to_decision") o.decision_ms = s.ms;
  return o;
}

bool answer_right(const CaseOutcome& o) {
  return o.expect_route == "local" && (o.expect_label.empty() || o.label == o.expect_label) &&
         (o.expect_macro.empty() || o.macro == o.expect_macro);
}

CaseOutcome error_case(const EvalCase& c, const Status& error) {
  CaseOutcome o;
  o.id = c.id;
  o.task = c.task;
  o.expect_route = c.expect_route;
  o.route = "error";
  o.error = error.to_string();
  return o;
}

nlohmann::json calibration_report(const std::vector<CaseOutcome>& outcomes) {
  using nlohmann::json;
  std::vector<calibration::Sample> all;
  std::map<std::string, std::vector<calibration::Sample>> by_task;
  std::map<std::string, std::vector<std::pair<double, bool>>> expect_local;  // confidence, expected local
  for (const auto& o : outcomes) {
    if (!o.local_ran || !o.confidence || o.route == "error") continue;
    const double c = std::clamp(*o.confidence, 0.0, 1.0);
    const bool right = answer_right(o);
    all.push_back({c, right});
    by_task[o.task].push_back({c, right});
    expect_local[o.task].emplace_back(c, o.expect_route == "local");
  }
  const auto rel = calibration::reliability(all, 10);
  json reliability = json::array();
  for (const auto& b : rel.bins) {
    json row = {{"lo", b.lo}, {"hi", b.hi}, {"n", b.n}};
    if (b.n > 0) {
      row["mean_confidence"] = b.mean_confidence;
      row["accuracy"] = b.accuracy;
    }
    reliability.push_back(std::move(row));
  }
  json tasks = json::object();
  for (const auto& [task, samples] : by_task) {
    const auto threshold = calibration::zero_false_accept_threshold(samples);
    int local = 0, accepted = 0;
    for (const auto& [c, is_local] : expect_local[task]) {
      if (!is_local) continue;
      ++local;
      if (threshold && c >= *threshold) ++accepted;
    }
    json t = {{"cases", samples.size()}, {"acceptance", share(accepted, local)}};
    t["threshold_zero_false_accepts"] = threshold ? json(*threshold) : json(nullptr);
    tasks[task] = std::move(t);
  }
  return json{{"cases", rel.n},
              {"ece", rel.ece},
              {"brier", rel.brier},
              {"reliability", std::move(reliability)},
              {"by_task", std::move(tasks)}};
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const std::size_t idx = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return values[std::min(idx, values.size() - 1)];
}

nlohmann::json make_report(const std::vector<CaseOutcome>& outcomes) {
  using nlohmann::json;
  int false_accepts = 0, expect_local = 0, accepted_local_of_expected = 0;
  int classify_local = 0, label_right = 0, macro_local = 0, macro_right = 0, args_right = 0;
  int local_ran = 0, json_valid = 0, errors = 0, reason_match = 0, reason_expected = 0;
  std::vector<double> all, local_lat, frontier_lat;
  json results = json::array();
  json by_tier = json::object();  // per local tier that settled or last saw each case
  for (const auto& o : outcomes) {
    const bool accepted = o.route == "local";
    if (o.route == "error") ++errors;
    if (o.expect_route == "frontier" && accepted) ++false_accepts;
    if (o.expect_route == "local") {
      ++expect_local;
      if (accepted) ++accepted_local_of_expected;
    }
    if (accepted && o.task == "classify_issue") {
      ++classify_local;
      if (o.label == o.expect_label) ++label_right;
    }
    bool args_ok = false;
    if (accepted && o.task == "route_macro") {
      ++macro_local;
      if (o.macro == o.expect_macro) {
        ++macro_right;
        args_ok = o.args == o.expect_args;
        if (args_ok) ++args_right;
      }
    }
    if (o.local_ran) {
      ++local_ran;
      if (o.json_valid) ++json_valid;
    }
    if (!accepted && o.expect_reason && o.route != "error") {
      ++reason_expected;
      if (o.reason == *o.expect_reason) ++reason_match;
    }
    if (o.route != "error") {
      all.push_back(o.decision_ms);
      (accepted ? local_lat : frontier_lat).push_back(o.decision_ms);
    }
    json r = {
        {"id", o.id},
        {"task", o.task},
        {"expect_route", o.expect_route},
        {"route", o.route},
        {"ok", o.route == o.expect_route && (!accepted || o.task != "classify_issue" || o.label == o.expect_label) &&
                   (!accepted || o.task != "route_macro" || (o.macro == o.expect_macro && args_ok))},
        {"decision_ms", o.decision_ms},
        {"local_ran", o.local_ran},
        {"json_valid", o.json_valid}};
    if (!o.reason.empty()) r["reason"] = o.reason;
    if (o.expect_reason) r["expect_reason"] = *o.expect_reason;
    if (o.confidence) r["confidence"] = *o.confidence;
    if (o.task == "classify_issue") {
      r["label"] = o.label;
      r["expect_label"] = o.expect_label;
    }
    if (o.task == "route_macro") {
      r["macro"] = o.macro;
      r["expect_macro"] = o.expect_macro;
      r["args"] = o.args;
      r["expect_args"] = o.expect_args;
    }
    if (!o.error.empty()) r["error"] = o.error;
    if (!o.local_tier.empty()) {
      r["local_tier"] = o.local_tier;
      json& t = by_tier[o.local_tier];
      if (t.is_null()) t = {{"asked_last", 0}, {"accepted", 0}, {"false_accepts", 0}, {"label_right", 0}};
      t["asked_last"] = t["asked_last"].get<int>() + 1;
      if (accepted) {
        t["accepted"] = t["accepted"].get<int>() + 1;
        if (o.expect_route == "frontier") t["false_accepts"] = t["false_accepts"].get<int>() + 1;
        if (o.task == "classify_issue" && o.label == o.expect_label) t["label_right"] = t["label_right"].get<int>() + 1;
      }
    }
    results.push_back(std::move(r));
  }
  auto lat = [](const std::vector<double>& v) {
    return json{{"p50", percentile(v, 50)}, {"p95", percentile(v, 95)}, {"n", v.size()}};
  };
  json latency = lat(all);
  latency["by_route"] = {{"local", lat(local_lat)}, {"frontier", lat(frontier_lat)}};
  json calibration = calibration_report(outcomes);
  return json{
      {"ece", calibration["ece"]},
      {"brier", calibration["brier"]},
      {"calibration", calibration},
      {"cases", outcomes.size()},
      {"errors", errors},
      {"false_accepts", false_accepts},
      {"local_acceptance", share(accepted_local_of_expected, expect_local)},
      {"label_accuracy", share(label_right, classify_local)},
      {"macro_accuracy", share(macro_right, macro_local)},
      {"args_exact", share(args_right, macro_right)},
      {"json_validity", share(json_valid, local_ran)},
      {"reason_agreement", share(reason_match, reason_expected)},
      {"latency_ms", latency},
      {"by_local_tier", std::move(by_tier)},
      {"counts",
       {{"expect_local", expect_local},
        {"accepted_local", accepted_local_of_expected},
        {"classify_accepted", classify_local},
        {"label_right", label_right},
        {"macro_accepted", macro_local},
        {"macro_right", macro_right},
        {"args_right", args_right},
        {"local_ran", local_ran},
        {"json_valid", json_valid}}},
      {"results", std::move(results)},
  };
}

Status keep_split(std::vector<EvalCase>& cases, const std::string& split, const std::string& source_name) {
  if (split.empty()) return Status::ok_status();
  std::erase_if(cases, [&](const EvalCase& c) { return c.split != split; });
  if (cases.empty())
    return make_error(ErrorCode::kInvalidArgument, source_name + ": no case has split '" + split + "'");
  return Status::ok_status();
}

}  // namespace ladder::cli
