// Data-driven golden cases: every tests/golden/*.yaml file lists requests with their
// options and the route and reason the pre-model decision (gates, the hard-stop scan of
// the input, then the evidence ruling) must give under a policy file. Each case runs through the real Router
// with the policy's real local model; upper tiers are not called (the decision to
// escalate is what is checked).
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "config/loader.h"
#include "router/router.h"

namespace ladder {
namespace {

namespace fs = std::filesystem;

struct GoldenCase {
  std::string file;
  std::string id;
  std::string task;
  std::string input;
  RequestOptions options;
  std::optional<bool> kill_switch;
  std::optional<int> max_context_tokens;
  std::optional<int> max_tool_chain;
  std::optional<bool> privacy_forces_local;
  std::string expect_route;
  std::optional<std::string> expect_reason;  // absent: no reason expected
  std::optional<std::string> expect_rule;
  std::optional<bool> expect_local_only;
  std::string policy;
};

// What the real Router decided before any model answer: a request that passed the gates
// and the hard-stop scan reached the local tier ("local", with the rule privacy overrode,
// if any); one that did not was escalated or, under privacy, refused, with its reason.
struct PreModel {
  std::string route;
  std::optional<Reason> reason;
  std::string rule;
  bool local_only = false;
};

PreModel observe(const Decision& d) {
  PreModel out;
  out.local_only = d.local_only;
  if (d.hard_stop) out.rule = d.hard_stop->rule_id;
  bool reached_local = d.local_ran;
  for (const auto& t : d.tiers) reached_local = reached_local || t.tier == 0;
  if (reached_local) {
    out.route = "local";
    out.reason = d.kept_local_reason;
  } else {
    out.route = d.route;
    out.reason = d.reason;
  }
  return out;
}

void check_keys(const YAML::Node& node, const std::set<std::string>& allowed, const std::string& where) {
  ASSERT_TRUE(node.IsMap()) << where << ": expected a mapping";
  for (auto it = node.begin(); it != node.end(); ++it) {
    ASSERT_TRUE(allowed.count(it->first.as<std::string>())) << where << ": unknown key " << it->first.as<std::string>();
  }
}

std::vector<GoldenCase> load_cases() {
  std::vector<GoldenCase> cases;
  fs::path dir = fs::path(LADDER_SOURCE_DIR) / "tests" / "golden";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    YAML::Node doc = YAML::LoadFile(file.string());
    std::string name = file.filename().string();
    check_keys(doc, {"policy", "cases"}, name);
    std::string policy = doc["policy"].as<std::string>();
    for (const auto& node : doc["cases"]) {
      GoldenCase c;
      c.file = name;
      c.policy = policy;
      c.id = node["id"].as<std::string>();
      std::string where = name + ":" + c.id;
      check_keys(node, {"id", "task", "input", "input_repeat", "options", "overrides", "expect"}, where);
      c.task = node["task"].as<std::string>();
      if (node["input"]) {
        c.input = node["input"].as<std::string>();
      } else {
        const auto& rep = node["input_repeat"];
        check_keys(rep, {"text", "times"}, where + ".input_repeat");
        for (int i = 0, n = rep["times"].as<int>(); i < n; ++i) c.input += rep["text"].as<std::string>();
      }
      if (const auto& o = node["options"]) {
        check_keys(o, {"privacy", "tool_chain_length", "force_frontier"}, where + ".options");
        if (o["privacy"]) c.options.privacy = o["privacy"].as<bool>();
        if (o["tool_chain_length"]) c.options.tool_chain_length = o["tool_chain_length"].as<int>();
        if (o["force_frontier"]) c.options.force_frontier = o["force_frontier"].as<bool>();
      }
      if (const auto& o = node["overrides"]) {
        check_keys(o, {"kill_switch", "max_context_tokens", "max_tool_chain", "privacy_forces_local"},
                   where + ".overrides");
        if (o["kill_switch"]) c.kill_switch = o["kill_switch"].as<bool>();
        if (o["max_context_tokens"]) c.max_context_tokens = o["max_context_tokens"].as<int>();
        if (o["max_tool_chain"]) c.max_tool_chain = o["max_tool_chain"].as<int>();
        if (o["privacy_forces_local"]) c.privacy_forces_local = o["privacy_forces_local"].as<bool>();
      }
      const auto& e = node["expect"];
      check_keys(e, {"route", "reason", "rule", "local_only"}, where + ".expect");
      c.expect_route = e["route"].as<std::string>();
      if (e["reason"]) c.expect_reason = e["reason"].as<std::string>();
      if (e["rule"]) c.expect_rule = e["rule"].as<std::string>();
      if (e["local_only"]) c.expect_local_only = e["local_only"].as<bool>();
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

TEST(GoldenTest, AllCasesPass) {
  std::vector<GoldenCase> cases;
  ASSERT_NO_THROW(cases = load_cases());
  ASSERT_GE(cases.size(), 30u) << "the golden set must keep at least 30 cases";
  std::set<std::string> ids;
  int local = 0, frontier = 0;
  std::map<std::string, ConfigPtr> policies;
  std::map<std::string, std::unique_ptr<Router>> routers;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file + ": " + c.id);
    EXPECT_TRUE(ids.insert(c.id).second) << "duplicate case id";
    auto cached = policies.find(c.policy);
    if (cached == policies.end()) {
      auto loaded = load_policy_file((fs::path(LADDER_SOURCE_DIR) / c.policy).string());
      ASSERT_TRUE(loaded.ok()) << loaded.status().message();
      cached = policies.emplace(c.policy, *loaded).first;
    }
    Config config = *cached->second;
    if (c.kill_switch) config.kill_switch = *c.kill_switch;
    if (c.max_context_tokens) config.capabilities.max_context_tokens = *c.max_context_tokens;
    if (c.max_tool_chain) config.capabilities.max_tool_chain = *c.max_tool_chain;
    if (c.privacy_forces_local) config.capabilities.privacy_forces_local = *c.privacy_forces_local;
    // One router per policy and set of overrides (each loads the local model).
    const std::string key = c.policy + "|" + std::to_string(config.kill_switch) + "|" +
                            std::to_string(config.capabilities.max_context_tokens) + "|" +
                            std::to_string(config.capabilities.max_tool_chain) + "|" +
                            std::to_string(config.capabilities.privacy_forces_local);
    auto& router = routers[key];
    if (!router) {
      RouterOptions options;
      options.skip_escalation_calls = true;
      auto created = Router::create(std::make_shared<Config>(config), nullptr, options);
      ASSERT_TRUE(created.ok()) << created.status().message();
      router = std::move(created).value();
    }
    RouteRequest req;
    req.task = c.task;
    req.input = c.input;
    req.options = c.options;
    auto decided = router->route(req);
    ASSERT_TRUE(decided.ok()) << decided.status().message();
    PreModel got = observe(*decided);
    EXPECT_EQ(got.route, c.expect_route);
    if (c.expect_reason) {
      ASSERT_TRUE(reason_from_name(*c.expect_reason).has_value()) << "not a reason: " << *c.expect_reason;
      EXPECT_EQ(got.reason ? std::string(reason_name(*got.reason)) : "(none)", *c.expect_reason);
    } else {
      EXPECT_FALSE(got.reason.has_value()) << "unexpected reason " << reason_name(*got.reason) << " rule " << got.rule;
    }
    if (c.expect_rule) EXPECT_EQ(got.rule, *c.expect_rule);
    if (c.expect_local_only) EXPECT_EQ(got.local_only, *c.expect_local_only);
    if (c.expect_route == "local") ++local;
    if (c.expect_route == "frontier") ++frontier;
  }
  // The set must exercise both outcomes.
  EXPECT_GE(local, 10);
  EXPECT_GE(frontier, 10);
}

}  // namespace
}  // namespace ladder
