#include "distill/distill.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ladder::distill {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Generator: sessions with known sequences embedded among noise calls. Noise is chosen so
// that no pair of adjacent calls involving a noise call appears in two different sessions,
// so the only repeats across sessions are the embedded sequences.

const std::vector<std::string> kSeqA = {"github.list_pulls", "github.get_pull", "github.add_labels"};
const std::vector<std::string> kSeqB = {"ci.get_run", "ci.download_logs"};
const std::vector<std::string> kNoisePool = {
    "fs.read",      "fs.write",    "fs.list",  "search.code", "shell.run", "http.get", "slack.post", "jira.get_issue",
    "jira.comment", "docs.search", "git.diff", "git.log",     "kv.get",    "kv.put",   "time.now",   "math.eval"};

struct Planned {
  std::string tool;
  json args;
};

struct GeneratedLog {
  std::string text;
  std::set<std::string> sessions_a;
  std::set<std::string> sessions_b;
  std::size_t occurrences_a = 0;
  std::size_t occurrences_b = 0;
};

std::vector<Planned> make_seq_a(std::size_t occurrence) {
  std::string owner = "owner" + std::to_string(occurrence);
  std::string repo = "repo" + std::to_string(occurrence * 7 % 11);
  int number = 100 + static_cast<int>(occurrence) * 13;
  bool notify = occurrence % 2 == 0;
  return {
      {kSeqA[0], {{"owner", owner}, {"repo", repo}, {"state", "open"}, {"per_page", 30}}},
      {kSeqA[1], {{"owner", owner}, {"repo", repo}, {"number", number}}},
      {kSeqA[2], {{"owner", owner}, {"repo", repo}, {"number", number}, {"labels", {"triage"}}, {"notify", notify}}}};
}

std::vector<Planned> make_seq_b(std::size_t occurrence) {
  int run_id = 9000 + static_cast<int>(occurrence) * 17;
  double max_mb = 0.5 + static_cast<double>(occurrence);
  return {{kSeqB[0], {{"run_id", run_id}, {"repo", "ladder"}}}, {kSeqB[1], {{"run_id", run_id}, {"max_mb", max_mb}}}};
}

std::string rfc3339(int day, int second_of_day, bool plus_two) {
  int h = second_of_day / 3600 + (plus_two ? 2 : 0), m = second_of_day / 60 % 60, s = second_of_day % 60;
  char buf[64];
  std::snprintf(buf, sizeof buf, "2026-11-%02dT%02d:%02d:%02d%s", day, h, m, s, plus_two ? "+02:00" : "Z");
  return buf;
}

GeneratedLog generate_log(unsigned seed) {
  std::mt19937 rng(seed);
  constexpr int kSessions = 12;
  std::vector<std::string> ids(kSessions);
  for (int i = 0; i < kSessions; ++i) ids[i] = "s" + std::to_string(100 + i);
  std::vector<int> order(kSessions);
  for (int i = 0; i < kSessions; ++i) order[i] = i;
  GeneratedLog log;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<int>> segments(kSessions);  // 0 = seq A, 1 = seq B per session
  for (int i = 0; i < 5; ++i) segments[order[i]].push_back(0);
  segments[order[0]].push_back(0);  // one session holds seq A twice
  std::shuffle(order.begin(), order.end(), rng);
  for (int i = 0; i < 3; ++i) segments[order[i]].push_back(1);

  std::map<std::pair<std::string, std::string>, int> bigram_owner;
  std::vector<std::string> lines;
  std::size_t occ_a = 0, occ_b = 0;
  for (int s = 0; s < kSessions; ++s) {
    auto& segs = segments[s];
    std::shuffle(segs.begin(), segs.end(), rng);
    // Slots: -1 = noise call, otherwise an embedded call.
    std::vector<Planned> fixed;
    std::vector<int> slots;
    auto add_noise = [&](int n) {
      for (int i = 0; i < n; ++i) slots.push_back(-1);
    };
    add_noise(std::uniform_int_distribution<int>(segs.empty() ? 2 : 0, 3)(rng));
    for (std::size_t k = 0; k < segs.size(); ++k) {
      if (k > 0) add_noise(std::uniform_int_distribution<int>(1, 3)(rng));
      auto calls = segs[k] == 0 ? make_seq_a(occ_a++) : make_seq_b(occ_b++);
      (segs[k] == 0 ? log.sessions_a : log.sessions_b).insert(ids[s]);
      for (auto& c : calls) {
        slots.push_back(static_cast<int>(fixed.size()));
        fixed.push_back(std::move(c));
      }
    }
    add_noise(std::uniform_int_distribution<int>(0, 3)(rng));

    std::vector<Planned> calls;
    auto free_pair = [&](const std::string& a, const std::string& b) {
      auto it = bigram_owner.find({a, b});
      return it == bigram_owner.end() || it->second == s;
    };
    for (std::size_t p = 0; p < slots.size(); ++p) {
      if (slots[p] >= 0) {
        calls.push_back(fixed[slots[p]]);
        continue;
      }
      std::vector<std::string> pool = kNoisePool;
      std::shuffle(pool.begin(), pool.end(), rng);
      const std::string* prev = calls.empty() ? nullptr : &calls.back().tool;
      const std::string* next = p + 1 < slots.size() && slots[p + 1] >= 0 ? &fixed[slots[p + 1]].tool : nullptr;
      auto pick = std::find_if(pool.begin(), pool.end(), [&](const std::string& t) {
        return (!prev || free_pair(*prev, t)) && (!next || free_pair(t, *next));
      });
      if (pick == pool.end()) return {};  // caller asserts on an empty log
      json args = {{"q", "noise" + std::to_string(rng() % 1000)}};
      calls.push_back({*pick, args});
    }
    for (std::size_t i = 0; i + 1 < calls.size(); ++i)
      bigram_owner.emplace(std::pair{calls[i].tool, calls[i + 1].tool}, s);

    int t = 3600 * 9 + static_cast<int>(rng() % 600);
    for (const auto& c : calls) {
      json line = {{"session", ids[s]}, {"tool", c.tool}, {"args", c.args}};
      switch (rng() % 3) {
        case 0:
          line["ts"] = rfc3339(s + 1, t, false);
          break;
        case 1:
          line["ts"] = rfc3339(s + 1, t, true);
          break;
        default:
          line["ts"] = parse_rfc3339(rfc3339(s + 1, t, false))->seconds;
          break;
      }
      lines.push_back(line.dump());
      t += 1 + static_cast<int>(rng() % 40);
    }
  }
  std::shuffle(lines.begin(), lines.end(), rng);  // sessions interleave; ts restores order
  for (std::size_t i = 0; i < lines.size(); ++i) log.text += lines[i] + (i % 7 == 3 ? "\n\n" : "\n");
  log.occurrences_a = occ_a;
  log.occurrences_b = occ_b;
  return log;
}

// The step's argument by name; a failure and an empty argument when it is missing.
StepArg find_arg_value(const Step& step, const std::string& name) {
  for (const auto& a : step.args)
    if (a.name == name) return a;
  ADD_FAILURE() << step.tool << " has no argument " << name;
  return {.name = "<missing>", .role = ArgRole::kInput, .value = {}, .property = "<missing>"};
}

std::vector<std::string> as_vector(const std::set<std::string>& s) { return {s.begin(), s.end()}; }

class DistillGeneratedTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(DistillGeneratedTest, FindsExactlyTheEmbeddedSequences) {
  GeneratedLog log = generate_log(GetParam());
  ASSERT_FALSE(log.text.empty()) << "generator could not place noise";
  auto calls = parse_log(log.text, "gen.jsonl");
  ASSERT_TRUE(calls.ok()) << calls.status().to_string();
  auto seqs = find_sequences(*calls, {});
  ASSERT_TRUE(seqs.ok()) << seqs.status().to_string();
  ASSERT_EQ(seqs->size(), 2u) << [&] {
    std::string all;
    for (const auto& s : *seqs) all += to_json(s).dump() + "\n";
    return all;
  }();

  const Sequence& a = (*seqs)[0];  // longest first
  EXPECT_EQ(a.tools, kSeqA);
  EXPECT_EQ(a.sessions, as_vector(log.sessions_a));
  EXPECT_EQ(a.sessions.size(), 5u);
  EXPECT_EQ(a.occurrences, log.occurrences_a);
  EXPECT_EQ(a.occurrences, 6u);
  EXPECT_EQ(a.name, "github_list_pulls_github_add_labels_v1");
  ASSERT_EQ(a.steps.size(), 3u);
  // Step 0: owner and repo vary → inputs; state and per_page never change → constants.
  EXPECT_EQ(find_arg_value(a.steps[0], "owner").role, ArgRole::kInput);
  EXPECT_EQ(find_arg_value(a.steps[0], "owner").property, "0_owner");
  EXPECT_EQ(find_arg_value(a.steps[0], "repo").role, ArgRole::kInput);
  EXPECT_EQ(find_arg_value(a.steps[0], "state").role, ArgRole::kConstant);
  EXPECT_EQ(find_arg_value(a.steps[0], "state").value, "open");
  EXPECT_EQ(find_arg_value(a.steps[0], "per_page").value, 30);
  // Step 1: owner/repo wired from step 0; number is a new input.
  EXPECT_EQ(find_arg_value(a.steps[1], "owner").role, ArgRole::kWired);
  EXPECT_EQ(find_arg_value(a.steps[1], "owner").property, "0_owner");
  EXPECT_EQ(find_arg_value(a.steps[1], "repo").property, "0_repo");
  EXPECT_EQ(find_arg_value(a.steps[1], "number").role, ArgRole::kInput);
  // Step 2: number wired from step 1, labels constant, notify a boolean input.
  EXPECT_EQ(find_arg_value(a.steps[2], "number").role, ArgRole::kWired);
  EXPECT_EQ(find_arg_value(a.steps[2], "number").property, "1_number");
  EXPECT_EQ(find_arg_value(a.steps[2], "labels").role, ArgRole::kConstant);
  EXPECT_EQ(find_arg_value(a.steps[2], "notify").role, ArgRole::kInput);
  const json& props_a = a.input_schema["properties"];
  EXPECT_EQ(props_a.size(), 4u) << props_a.dump();
  EXPECT_EQ(props_a["0_owner"]["type"], "string");
  EXPECT_EQ(props_a["0_repo"]["type"], "string");
  EXPECT_EQ(props_a["1_number"]["type"], "integer");
  EXPECT_EQ(props_a["2_notify"]["type"], "boolean");
  EXPECT_EQ(a.input_schema["required"], json({"0_owner", "0_repo", "1_number", "2_notify"}));
  EXPECT_EQ(a.input_schema["additionalProperties"], false);

  const Sequence& b = (*seqs)[1];
  EXPECT_EQ(b.tools, kSeqB);
  EXPECT_EQ(b.sessions, as_vector(log.sessions_b));
  EXPECT_EQ(b.sessions.size(), 3u);
  EXPECT_EQ(b.occurrences, 3u);
  EXPECT_EQ(b.name, "ci_get_run_ci_download_logs_v1");
  EXPECT_EQ(find_arg_value(b.steps[0], "repo").role, ArgRole::kConstant);
  EXPECT_EQ(find_arg_value(b.steps[1], "run_id").role, ArgRole::kWired);
  const json& props_b = b.input_schema["properties"];
  EXPECT_EQ(props_b.size(), 2u) << props_b.dump();
  EXPECT_EQ(props_b["0_run_id"]["type"], "integer");
  EXPECT_EQ(props_b["1_max_mb"]["type"], "number");
  EXPECT_FALSE(props_b.contains("0_repo"));

  // Threshold: two unencoded sequences exceed 0 and 1, not 2.
  EXPECT_TRUE(exceeds_threshold(seqs->size(), 0));
  EXPECT_TRUE(exceeds_threshold(seqs->size(), 1));
  EXPECT_FALSE(exceeds_threshold(seqs->size(), 2));

  // Seq B is in only 3 sessions: at K = 4 only seq A remains; at K = 6 nothing.
  auto k4 = find_sequences(*calls, {.min_sessions = 4});
  ASSERT_TRUE(k4.ok());
  ASSERT_EQ(k4->size(), 1u);
  EXPECT_EQ((*k4)[0].tools, kSeqA);
  auto k6 = find_sequences(*calls, {.min_sessions = 6});
  ASSERT_TRUE(k6.ok());
  EXPECT_TRUE(k6->empty());
}

INSTANTIATE_TEST_SUITE_P(Seeds, DistillGeneratedTest, ::testing::Values(1u, 7u, 42u, 2026u, 31337u));

// ---------------------------------------------------------------------------------------
// Hand-made logs.

std::string call_line(const std::string& session, const std::string& tool, const json& ts, const json& args = {}) {
  return json({{"session", session}, {"tool", tool}, {"ts", ts}, {"args", args.is_null() ? json::object() : args}})
             .dump() +
         "\n";
}

// Appends calls with increasing ts, in statement order.
struct LogBuilder {
  std::string text;
  int ts = 0;
  LogBuilder& add(const std::string& session, const std::string& tool, const json& args = {}) {
    text += call_line(session, tool, ++ts, args);
    return *this;
  }
};

std::vector<Sequence> distill_text(const std::string& text, std::size_t k = 2) {
  auto calls = parse_log(text, "t.jsonl");
  EXPECT_TRUE(calls.ok()) << calls.status().to_string();
  if (!calls.ok()) return {};
  auto seqs = find_sequences(*calls, {.min_sessions = k});
  EXPECT_TRUE(seqs.ok());
  return seqs.ok() ? *seqs : std::vector<Sequence>{};
}

TEST(DistillTest, ReportsOnlyMaximalSequencesAndOrdersThem) {
  LogBuilder log;
  for (const auto& s : {"s1", "s2"})
    for (const auto& t : {"a", "b", "c"}) log.add(s, t);
  log.add("s3", "a").add("s3", "b").add("s3", "x");
  auto seqs = distill_text(log.text);
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(seqs[0].tools, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(seqs[0].sessions, (std::vector<std::string>{"s1", "s2"}));
  // [a, b] is in a longer sequence but in more sessions, so it is reported; [b, c] is not.
  EXPECT_EQ(seqs[1].tools, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(seqs[1].sessions.size(), 3u);
}

TEST(DistillTest, OrdersByLengthThenSessionsThenNames) {
  LogBuilder log;
  // [p, q] in 3 sessions, [d, e] and [m, n] in 2, all separated by unique noise.
  for (const auto& s : {"s1", "s2", "s3"}) log.add(s, "p").add(s, "q");
  for (std::string s : {"s1", "s2"})
    log.add(s, "z_" + s).add(s, "m").add(s, "n").add(s, "y_" + s).add(s, "d").add(s, "e");
  auto seqs = distill_text(log.text);
  ASSERT_EQ(seqs.size(), 3u);
  EXPECT_EQ(seqs[0].tools, (std::vector<std::string>{"p", "q"}));
  EXPECT_EQ(seqs[1].tools, (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(seqs[2].tools, (std::vector<std::string>{"m", "n"}));
}

TEST(DistillTest, SortsSessionsByTimestampStablyAcrossFormats) {
  // File order is reversed; ts (mixed strings with offsets and numbers) restores a→b→c.
  // Within s2, "b" and "c" share a ts, so file order (b before c) decides.
  double base = static_cast<double>(parse_rfc3339("2026-11-01T10:00:00Z")->seconds);
  std::string text = call_line("s1", "c", "2026-11-01T10:00:02.5Z") + call_line("s1", "b", base + 1.25) +
                     call_line("s1", "a", "2026-11-01T12:00:00+02:00") + call_line("s2", "a", base) +
                     call_line("s2", "b", "2026-11-01T10:00:05Z") + call_line("s2", "c", base + 5);
  auto seqs = distill_text(text);
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(seqs[0].tools, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(DistillTest, InfersOptionalMixedAndConstantArguments) {
  LogBuilder log;
  std::vector<json> first_args = {{{"id", 1}, {"k", "same"}, {"opt", true}},
                                  {{"id", "two"}, {"k", "same"}},
                                  {{"id", 3.5}, {"k", "same"}, {"opt", false}}};
  for (int i = 0; i < 3; ++i) {
    std::string s = std::to_string(i);
    log.add(s, "Tool-One", first_args[i]).add(s, "tool.two", {{"k", i}});
  }
  auto seqs = distill_text(log.text);
  ASSERT_EQ(seqs.size(), 1u);
  const auto& schema = seqs[0].input_schema;
  EXPECT_EQ(seqs[0].name, "tool_one_tool_two_v1");
  EXPECT_EQ(schema["properties"]["0_id"]["type"], json({"number", "string"}));
  EXPECT_EQ(schema["properties"]["0_opt"]["type"], "boolean");
  EXPECT_EQ(schema["properties"]["1_k"]["type"], "integer");
  EXPECT_FALSE(schema["properties"].contains("0_k"));
  // opt is missing in one occurrence: an input, but not required.
  EXPECT_EQ(schema["required"], json({"0_id", "1_k"}));
}

TEST(DistillTest, NamesAreSanitisedAndVersionedWhenBasesCollide) {
  EXPECT_EQ(macro_base_name("GitHub.List-Pulls", "x/y z"), "github_list_pulls_x_y_z");
  LogBuilder log;
  for (std::string s : {"s1", "s2"}) log.add(s, "a").add(s, "b").add(s, "z").add(s, "n_" + s).add(s, "a").add(s, "z");
  auto seqs = distill_text(log.text);
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(seqs[0].name, "a_z_v1");  // [a, b, z]
  EXPECT_EQ(seqs[1].name, "a_z_v2");  // [a, z]
}

TEST(DistillTest, NothingRepeatedMeansNoSequences) {
  std::string text = call_line("s1", "a", 1) + call_line("s1", "b", 2) + call_line("s2", "b", 3) +
                     call_line("s2", "a", 4) + call_line("s3", "a", 5);
  EXPECT_TRUE(distill_text(text).empty());
  EXPECT_FALSE(exceeds_threshold(0, 0));
  auto none = parse_log("", "e.jsonl");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(find_sequences(*none, {})->empty());
  EXPECT_FALSE(find_sequences(*none, {.min_sessions = 0}).ok());
}

// Cross-check against brute force on random logs over a small alphabet: every contiguous
// run of >= 2 calls, its session set, and the definition of maximal taken literally.
TEST(DistillTest, MatchesBruteForceOnRandomLogs) {
  std::mt19937 rng(99);
  auto session_id = [](std::size_t s) {
    std::string id = "s";
    id += std::to_string(s);
    return id;
  };
  int rounds_with_sequences = 0;
  for (int round = 0; round < 30; ++round) {
    LogBuilder log;
    std::vector<std::vector<std::string>> sessions(2 + rng() % 5);
    for (std::size_t s = 0; s < sessions.size(); ++s) {
      std::size_t n = 1 + rng() % 9;
      for (std::size_t i = 0; i < n; ++i) {
        std::string tool(1, static_cast<char>('a' + rng() % 3));
        sessions[s].push_back(tool);
        log.add(session_id(s), tool);
      }
    }
    std::size_t k = 2 + rng() % 2;
    std::map<std::vector<std::string>, std::set<std::string>> found;
    for (std::size_t s = 0; s < sessions.size(); ++s)
      for (std::size_t i = 0; i < sessions[s].size(); ++i)
        for (std::size_t j = i + 2; j <= sessions[s].size(); ++j)
          found[{sessions[s].begin() + static_cast<long>(i), sessions[s].begin() + static_cast<long>(j)}].insert(
              session_id(s));
    std::set<std::pair<std::vector<std::string>, std::set<std::string>>> expected;
    for (const auto& [seq, ids] : found) {
      if (ids.size() < k) continue;
      bool covered = false;
      for (const auto& [longer, longer_ids] : found) {
        if (longer.size() <= seq.size() || longer_ids != ids) continue;
        covered |= std::search(longer.begin(), longer.end(), seq.begin(), seq.end()) != longer.end();
      }
      if (!covered) expected.insert({seq, ids});
    }
    std::set<std::pair<std::vector<std::string>, std::set<std::string>>> actual;
    for (const auto& seq : distill_text(log.text, k))
      actual.insert({seq.tools, {seq.sessions.begin(), seq.sessions.end()}});
    EXPECT_EQ(actual, expected) << "round " << round << "\n" << log.text;
    rounds_with_sequences += expected.empty() ? 0 : 1;
  }
  EXPECT_GT(rounds_with_sequences, 15);
}

// ---------------------------------------------------------------------------------------
// Bad input: every bad line is named.

struct BadLine {
  std::string line;
  std::string expect;  // substring of the error after "log.jsonl:2: "
};

TEST(DistillParseTest, EveryBadLineIsNamed) {
  std::string good = R"({"session":"s","tool":"t","ts":1,"args":{}})";
  std::vector<BadLine> cases = {
      {R"({"session":"s","tool":"t","ts":1,"args":{})", "invalid JSON"},
      // fuzz/regressions/distill_log: a number no double holds threw out_of_range past the catch.
      {R"({"session":"s","tool":"t","ts":1,"args":{"n":1e400}})", "invalid JSON: [json.exception.out_of_range.406]"},
      {R"([1,2])", "expected a JSON object"},
      {R"("text")", "expected a JSON object"},
      {R"({"tool":"t","ts":1,"args":{}})", "session: expected a non-empty string"},
      {R"({"session":"","tool":"t","ts":1,"args":{}})", "session: expected a non-empty string"},
      {R"({"session":5,"tool":"t","ts":1,"args":{}})", "session: expected a non-empty string"},
      {R"({"session":"s","ts":1,"args":{}})", "tool: expected a non-empty string"},
      {R"({"session":"s","tool":["t"],"ts":1,"args":{}})", "tool: expected a non-empty string"},
      {R"({"session":"s","tool":"t","ts":1})", "args: expected an object"},
      {R"({"session":"s","tool":"t","ts":1,"args":[1]})", "args: expected an object"},
      {R"({"session":"s","tool":"t","args":{}})", "ts: expected an RFC 3339 string or a number"},
      {R"({"session":"s","tool":"t","ts":true,"args":{}})", "ts: expected an RFC 3339 string or a number"},
      {R"({"session":"s","tool":"t","ts":"yesterday","args":{}})", "is not an RFC 3339 date-time"},
      {R"({"session":"s","tool":"t","ts":"2026-02-30T10:00:00Z","args":{}})", "is not an RFC 3339 date-time"},
      {"{\"session\":\"s\xff\",\"tool\":\"t\",\"ts\":1,\"args\":{}}", "invalid UTF-8 at byte 14"},
  };
  for (const auto& c : cases) {
    std::string text = good;
    text.append("\n").append(c.line).append("\n").append(good).append("\n");
    auto r = parse_log(text, "log.jsonl");
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(r.status().code(), ErrorCode::kParseError);
    EXPECT_EQ(r.status().message().rfind("log.jsonl:2: ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.line << " → " << r.status().message();
  }
}

TEST(DistillParseTest, ReportsAllBadLinesAndSkipsBlankOnes) {
  std::string good = R"({"session":"s","tool":"t","ts":"2026-11-01T10:00:00Z","args":{"a":1}})";
  auto ok = parse_log("\n" + good + "\r\n   \n" + good, "log.jsonl");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].line, 2u);
  EXPECT_EQ((*ok)[1].line, 4u);

  auto bad = parse_log(good + "\n{\n\n" + good + "\n[]\n", "log.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("log.jsonl:2: invalid JSON"), std::string::npos);
  EXPECT_NE(bad.status().message().find("\nlog.jsonl:5: expected a JSON object"), std::string::npos);

  std::string many;
  for (std::size_t i = 0; i < kMaxReportedErrors + 5; ++i) many += "{}\n";
  auto capped = parse_log(many, "log.jsonl");
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.status().message().find("and 5 more bad lines"), std::string::npos);
}

TEST(DistillParseTest, ParsesRfc3339) {
  auto base = parse_rfc3339("2026-11-01T10:00:00Z");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->seconds, 1793527200);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z")->seconds, 0);
  EXPECT_EQ(parse_rfc3339("2026-11-01T12:30:00+02:30")->seconds, base->seconds);
  EXPECT_EQ(parse_rfc3339("2026-11-01t05:00:00-05:00")->seconds, base->seconds);
  auto frac = parse_rfc3339("2026-11-01T10:00:00.1234567891Z");
  ASSERT_TRUE(frac.ok());
  EXPECT_EQ(frac->nanos, 123456789);
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z").ok());
  for (const char* bad :
       {"2026-11-01", "2026-11-01T10:00:00", "2026-13-01T10:00:00Z", "2025-02-29T00:00:00Z", "2026-11-01T24:00:00Z",
        "2026-11-01T10:00:00.Z", "2026-11-01T10:00:00+0200", "2026-11-01T10:00:00Zjunk", "2026-11-01X10:00:00Z"})
    EXPECT_FALSE(parse_rfc3339(bad).ok()) << bad;
}

// ---------------------------------------------------------------------------------------
// The real binary: exit codes for threshold, bad input and a missing file.

int run_ladder(const std::string& args, const std::filesystem::path& out) {
  std::string cmd = std::string(LADDER_BINARY_DIR) + "/ladder distill " + args + " >" + out.string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// tests/distill/data/tool-calls.jsonl is the seed-42 generated log, kept as a file so the
// CLI can be shown on it (docs/distill.md). LADDER_UPDATE_GOLDEN=1 rewrites it.
TEST(DistillGoldenTest, CommittedLogIsTheGeneratedOne) {
  const std::string path = std::string(LADDER_SOURCE_DIR) + "/tests/distill/data/tool-calls.jsonl";
  const std::string generated = generate_log(42).text;
  if (const char* update = std::getenv("LADDER_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << generated;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path << " is missing; run with LADDER_UPDATE_GOLDEN=1";
  const std::string committed{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(committed, generated);
  const auto parsed = parse_log(committed, path);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const auto found = find_sequences(*parsed, {});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 2u);
}

TEST(DistillTest, SequencesAMacroReplacesAreEncoded) {
  std::vector<Sequence> seqs(3);
  seqs[0].tools = {"github.list_pulls", "github.get_pull", "github.add_labels"};
  seqs[1].tools = {"github.get_pull", "github.add_labels"};    // a contiguous part of the macro's calls
  seqs[2].tools = {"github.list_pulls", "github.add_labels"};  // not contiguous there
  std::vector<EncodedTools> macros = {{"ci_v1", {"ci.get_run"}},
                                      {"triage_v1", {"github.list_pulls", "github.get_pull", "github.add_labels"}}};
  EXPECT_EQ(mark_encoded(seqs, macros), 1u);
  EXPECT_EQ(seqs[0].encoded_by, "triage_v1");
  EXPECT_EQ(seqs[1].encoded_by, "triage_v1");
  EXPECT_EQ(seqs[2].encoded_by, "");
  EXPECT_EQ(to_json(seqs[0])["encoded"], true);
  EXPECT_EQ(to_json(seqs[2])["encoded_by"], nullptr);
  EXPECT_EQ(mark_encoded(seqs, {}), 3u);
}

TEST(DistillCliTest, PolicyMacrosCountAsEncoded) {
  std::filesystem::path bin = std::filesystem::path(LADDER_BINARY_DIR) / "ladder";
  ASSERT_TRUE(std::filesystem::exists(bin));
  const std::string log = std::string(LADDER_SOURCE_DIR) + "/tests/distill/data/tool-calls.jsonl";
  const std::string policy = std::string(LADDER_SOURCE_DIR) + "/examples/maintainer/policy.yaml";
  auto out = std::filesystem::temp_directory_path() / ("distill_policy_" + std::to_string(::getpid()) + ".txt");
  // repo_triage_v1 replaces github.list_pulls → get_pull → add_labels; the CI pair is left.
  EXPECT_EQ(run_ladder("--log " + log + " --policy " + policy + " --threshold 1", out), 0);
  EXPECT_NE(slurp(out).find("encoded by repo_triage_v1"), std::string::npos) << slurp(out);
  EXPECT_NE(slurp(out).find("1 unencoded repeated sequence "), std::string::npos) << slurp(out);
  EXPECT_EQ(run_ladder("--log " + log + " --policy " + policy, out), 1);
  EXPECT_EQ(run_ladder("--log " + log + " --policy /nonexistent/policy.yaml", out), 2);
  std::filesystem::remove(out);
}

TEST(DistillCliTest, ExitCodesFollowThresholdAndInput) {
  std::filesystem::path bin = std::filesystem::path(LADDER_BINARY_DIR) / "ladder";
  if (!std::filesystem::exists(bin)) GTEST_SKIP() << "ladder binary not built";
  auto dir = std::filesystem::temp_directory_path() / ("distill_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto log = dir / "gen.jsonl", bad = dir / "bad.jsonl", out = dir / "out.txt";
  std::ofstream(log) << generate_log(42).text;
  std::ofstream(bad) << R"({"session":"s","tool":"","ts":1,"args":{}})"
                     << "\n";

  EXPECT_EQ(run_ladder("--log " + log.string(), out), 1);
  EXPECT_NE(slurp(out).find("2 unencoded repeated sequences"), std::string::npos) << slurp(out);
  EXPECT_EQ(run_ladder("--log " + log.string() + " --threshold 1", out), 1);
  EXPECT_EQ(run_ladder("--log " + log.string() + " --threshold 2 --json", out), 0);
  auto j = json::parse(slurp(out));
  EXPECT_EQ(j["count"], 2);
  EXPECT_EQ(j["threshold"], 2);
  EXPECT_EQ(j["sequences"].size(), 2u);
  EXPECT_EQ(j["sequences"][0]["name"], "github_list_pulls_github_add_labels_v1");
  EXPECT_EQ(run_ladder("--log " + log.string() + " --min-sessions 6", out), 0);

  EXPECT_EQ(run_ladder("--log " + bad.string(), out), 2);
  EXPECT_NE(slurp(out).find(bad.string() + ":1: tool: expected a non-empty string"), std::string::npos) << slurp(out);
  EXPECT_EQ(run_ladder("--log " + (dir / "missing.jsonl").string(), out), 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ladder::distill
