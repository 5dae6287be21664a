#include "macros/fixtures.h"

#include <algorithm>
#include <memory>
#include <mutex>

namespace ladder::macros {

using nlohmann::json;

namespace {

// Writes the run sent (not planned), in the order the trace lists them.
json sent_writes(const RunOutcome& outcome) {
  json writes = json::array();
  for (const auto& t : outcome.trace) {
    if (t.kind != "http" || t.method == "GET" || t.attempts == 0) continue;  // skipped or planned: not sent
    writes.push_back(json{{"method", t.method}, {"url", url_target(t.url)}});
  }
  return writes;
}

json expectation_of(const RunOutcome& outcome) {
  json expect{{"status", outcome.status}};
  if (outcome.error) {
    expect["error"] = {{"step", outcome.error->step}, {"reason", outcome.error->reason}};
  } else {
    expect["result"] = outcome.result;
  }
  return expect;
}

}  // namespace

std::vector<std::string> compare_expectation(const json& expect, const RunOutcome& outcome, const json& writes) {
  std::vector<std::string> out;
  std::string want_status = expect.value("status", "");
  if (want_status != outcome.status) {
    std::string why = outcome.error ? " (" + outcome.error->reason + " at " + outcome.error->step + ": " +
                                          outcome.error->message + ")"
                                    : "";
    out.push_back("status: expected " + want_status + ", got " + outcome.status + why);
  }
  if (expect.contains("result") && expect["result"] != outcome.result) {
    out.push_back("result: expected " + expect["result"].dump() + ", got " + outcome.result.dump());
  }
  if (expect.contains("error")) {
    const json& e = expect["error"];
    if (!outcome.error) {
      out.push_back("error: expected " + e.dump() + ", got none");
    } else {
      if (e.contains("step") && e["step"] != outcome.error->step)
        out.push_back("error.step: expected " + e["step"].dump() + ", got \"" + outcome.error->step + "\"");
      if (e.contains("reason") && e["reason"] != outcome.error->reason)
        out.push_back("error.reason: expected " + e["reason"].dump() + ", got \"" + outcome.error->reason + "\"");
    }
  }
  // Writes from a parallel foreach may come in any order: compare them as a multiset.
  auto sorted = [](json list) {
    if (!list.is_array()) return list;
    std::vector<json> items(list.begin(), list.end());
    std::sort(items.begin(), items.end(), [](const json& a, const json& b) { return a.dump() < b.dump(); });
    return json(items);
  };
  if (expect.contains("writes") && sorted(expect["writes"]) != sorted(writes)) {
    out.push_back("writes: expected " + expect["writes"].dump() + ", got " + writes.dump());
  }
  return out;
}

std::vector<FixtureReport> replay_fixtures(const Config& config, const NativeRegistry& natives,
                                           const std::vector<std::string>& ids) {
  std::vector<FixtureReport> reports;
  for (const auto& id : ids) {
    if (!config.find_macro_definition(id)) {
      FixtureReport r;
      r.macro = id;
      r.mismatches.push_back("no macro named " + id + " is loaded");
      reports.push_back(std::move(r));
    }
  }
  for (const auto& def : config.macro_definitions) {
    if (!ids.empty() && std::find(ids.begin(), ids.end(), def->id) == ids.end()) continue;
    for (const auto& fx : def->fixtures) {
      auto transport = std::make_shared<ReplayTransport>(fx.exchanges);
      auto used = std::make_shared<std::vector<bool>>(fx.classify.size(), false);
      auto classify_problems = std::make_shared<std::vector<std::string>>();
      auto mu = std::make_shared<std::mutex>();
      ClassifyFn classify = [&fx, used, classify_problems, mu](const std::string& task,
                                                               const std::string& input) -> Result<json> {
        std::lock_guard<std::mutex> lock(*mu);
        for (std::size_t i = 0; i < fx.classify.size(); ++i) {
          const json& c = fx.classify[i];
          if ((*used)[i] || c.value("task", "") != task || c.value("input", "") != input) continue;
          (*used)[i] = true;
          return c["result"];
        }
        classify_problems->push_back("unexpected classify call: task " + task + " on " + json(input).dump());
        return make_error(ErrorCode::kNotFound, "no recorded classify result");
      };
      // Fixtures carry no secrets: a stand-in value lets required secrets through.
      Runner runner(transport, natives, classify, [](const MacroSecret&) { return std::string("fixture-secret"); });
      RunOptions options;
      options.approve = fx.approve;
      options.now = fx.now.empty() ? "2026-01-01T00:00:00Z" : fx.now;
      FixtureReport report;
      report.macro = def->id;
      report.fixture = fx.name;
      report.source = fx.source;
      report.outcome = runner.run(config, def->id, fx.args, options);
      report.mismatches = compare_expectation(fx.expect, report.outcome, sent_writes(report.outcome));
      for (const auto& p : transport->problems()) report.mismatches.push_back(p);
      for (const auto& p : *classify_problems) report.mismatches.push_back(p);
      for (std::size_t i = 0; i < fx.classify.size(); ++i)
        if (!(*used)[i]) report.mismatches.push_back("recorded classify call not made: " + fx.classify[i].dump());
      report.passed = report.mismatches.empty();
      reports.push_back(std::move(report));
    }
  }
  return reports;
}

json fixture_json(const std::string& name, const json& args, bool approve, const std::string& now,
                  const json& exchanges, const json& classify, const RunOutcome& outcome) {
  json expect = expectation_of(outcome);
  json writes = sent_writes(outcome);
  if (!writes.empty()) expect["writes"] = writes;
  json fx{{"name", name}, {"args", args}, {"now", now}, {"exchanges", exchanges}, {"expect", expect}};
  if (approve) fx["approve"] = true;
  if (!classify.empty()) fx["classify"] = classify;
  return fx;
}

}  // namespace ladder::macros
