// `ladder serve` with the SQLite store, killed with SIGKILL while requests are in flight:
// every request that got an answer has its record in the store. Real binary, real model.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../integration/process.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSource = LADDER_SOURCE_DIR;
const std::string kLadder = std::string(LADDER_BINARY_DIR) + "/ladder";
const std::string kModel = kSource + "/models/gemma-3-270m-q4_k_m.gguf";
const std::string kDependencyLog = "ERROR: No matching distribution found for requests==99.0\n";

std::set<std::string> stored_request_ids(const std::string& db_path) {
  std::set<std::string> ids;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT request_id FROM decisions", -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(stmt, 0);
    if (t) ids.insert(reinterpret_cast<const char*>(t));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return ids;
}

// `ladder serve` as a child whose pid this test holds (for SIGKILL); stdout on a pipe.
struct Child {
  explicit Child(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid = fork();
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out) fclose(out);
  }
  std::string read_line() {
    char buf[4096];
    if (!out || !fgets(buf, sizeof buf, out)) return "";
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
  void kill9() {
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    pid = -1;
  }
  pid_t pid = -1;
  FILE* out = nullptr;
};

// POST over a plain socket; returns {status, x-ladder-request-id} ({-1, ""} when the
// connection fails or is cut).
std::pair<int, std::string> post(int port, const std::string& path, const std::string& body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return {-1, ""};
  }
  const std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                          "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return {-1, ""};
  }
  std::string resp;
  char buf[8192];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) resp.append(buf, static_cast<std::size_t>(n));
  close(fd);
  const auto head_end = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return {-1, ""};
  std::string head = resp.substr(0, head_end);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string id;
  const std::string key = "\r\nx-ladder-request-id: ";
  if (auto at = head.find(key); at != std::string::npos) {
    const auto start = at + key.size();
    id = resp.substr(start, head.find("\r\n", start) - start);  // same offsets: only case changed
  }
  return {std::stoi(resp.substr(9, 3)), id};
}

TEST(ServeStoreTest, EveryAnsweredRequestHasItsRecordAfterKill9) {
  ASSERT_TRUE(fs::exists(kModel)) << "run scripts/setup first: " << kModel;
  const fs::path dir = fs::temp_directory_path() / ("ladder-serve-store-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db_path = (dir / "ladder.db").string();
  std::string policy = example_policy_text(kModel);
  // The frontier is a closed port: escalations fail fast and are still answered and recorded.
  replace_all(policy, "http://127.0.0.1:8089", "http://127.0.0.1:" + std::to_string(free_port()));
  policy += "\nstore:\n  kind: sqlite\n  path: " + db_path + "\n  batch_size: 8\n";
  write_file((dir / "policy.yaml").string(), policy);

  Child serve({kLadder, "serve", "--policy", (dir / "policy.yaml").string(), "--port", "0", "--health-interval-ms", "0",
               "--workers", "2", "--audit", (dir / "audit.jsonl").string()});
  const std::string line = serve.read_line();
  ASSERT_EQ(line.rfind("listening on 127.0.0.1:", 0), 0u) << "ladder serve did not start: " << line;
  const int port = std::stoi(line.substr(23));

  std::mutex mu;
  std::condition_variable answered_cv;
  std::vector<std::string> answered;  // request ids of answered requests, guarded by mu
  bool killed = false;                // guarded by mu
  auto client = [&](int n) {
    for (int i = 0;; ++i) {
      const bool local = (n + i) % 3 != 0;
      json body = {{"task", local ? "classify_issue" : "security_review"},
                   {"input", local ? kDependencyLog : "review auth.go for injection, client " + std::to_string(n)}};
      const auto [status, id] = post(port, "/v1/route", body.dump());
      std::lock_guard lock(mu);
      if (status < 0 || killed) return;  // cut by the kill: not answered
      EXPECT_FALSE(id.empty()) << "answer " << status << " without a request id";
      answered.push_back(id);
      answered_cv.notify_all();
    }
  };
  std::vector<std::thread> clients;
  for (int n = 0; n < 3; ++n) clients.emplace_back(client, n);
  {
    std::unique_lock lock(mu);
    answered_cv.wait(lock, [&] { return answered.size() >= 9; });
    // Kill while holding the lock: an answer that arrives after this is not counted.
    serve.kill9();
    killed = true;
  }
  for (auto& t : clients) t.join();

  const std::set<std::string> stored = stored_request_ids(db_path);
  for (const auto& id : answered) EXPECT_TRUE(stored.count(id)) << "answered request " << id << " has no record";
  EXPECT_GE(stored.size(), answered.size());
  RecordProperty("answered", static_cast<int>(answered.size()));
  RecordProperty("stored", static_cast<int>(stored.size()));
  fs::remove_all(dir);
}

TEST(AuditImportCliTest, ImportsAGoodLogAndNamesEachBadLine) {
  const fs::path dir = fs::temp_directory_path() / ("ladder-audit-import-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db = (dir / "ladder.db").string();
  write_file((dir / "good.jsonl").string(),
             "{\"ts\": \"2024-01-01T00:00:00.000Z\", \"task\": \"a\", \"request_id\": \"r1\"}\n\n"
             "{\"ts\": \"2024-01-02T00:00:00.000Z\", \"task\": \"b\", \"request_id\": \"r2\"}\n");
  write_file((dir / "bad.jsonl").string(), "{\"ts\": \"x\", \"task\": \"a\"}\ngarbage\n[1]\n");
  RunResult good = run_process({kLadder, "audit", "import", (dir / "good.jsonl").string(), "--db", db});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.out.find("imported 2 records"), std::string::npos) << good.out;
  RunResult bad = run_process({kLadder, "audit", "import", (dir / "bad.jsonl").string(), "--db", db});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.jsonl:2: not valid JSON"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("bad.jsonl:3: expected a JSON object"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("nothing was imported"), std::string::npos) << bad.err;
  EXPECT_EQ(stored_request_ids(db), (std::set<std::string>{"r1", "r2"}));
  RunResult neither = run_process({kLadder, "audit", "import", (dir / "good.jsonl").string()});
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.err.find("--policy or --db"), std::string::npos) << neither.err;
  RunResult missing = run_process({kLadder, "audit", "import", (dir / "none.jsonl").string(), "--db", db});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("none.jsonl"), std::string::npos) << missing.err;
  fs::remove_all(dir);
}

TEST(StatsReviewCliTest, StatsAndReviewsFromAStoreWithKnownContent) {
  const fs::path dir = fs::temp_directory_path() / ("ladder-stats-cli-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string policy = (dir / "policy.yaml").string();
  write_file(policy, R"(version: 1
models:
  small: {backend: embedded, path: models/small.gguf}
  big: {backend: openai, base_url: "http://127.0.0.1:9/v1", model: gpt-big}
tiers:
  - {name: local, models: [small]}
  - {name: frontier, models: [big]}
tasks:
  triage: {kind: classify, labels: [build, other], min_confidence: 0.4}
store: {kind: sqlite, path: decisions.db}
costs:
  local_per_second: 0.01
  models:
    big: {prompt_per_million: 1000, completion_per_million: 2000}
)");
  auto line = [](int n, const std::string& route, double ms) {
    json tiers = json::array(
        {{{"model_name", "small"}, {"latency_ms", 1000}, {"prompt_tokens", 100}, {"completion_tokens", 10}}});
    if (route != "local")
      tiers.push_back({{"model_name", "big"}, {"latency_ms", ms}, {"prompt_tokens", 200}, {"completion_tokens", 20}});
    return json({{"ts", "2024-01-01T00:00:0" + std::to_string(n) + ".000Z"},
                 {"request_id", "r" + std::to_string(n)},
                 {"task", "triage"},
                 {"route", route},
                 {"label", "build"},
                 {"reason", route == "local" ? json(nullptr) : json("confidence_low")},
                 {"frontier_ok", route != "local"},
                 {"preview", "log " + std::to_string(n)},
                 {"tiers", tiers},
                 {"total_ms", 1000 + ms}})
        .dump();
  };
  write_file((dir / "old.jsonl").string(),
             line(1, "local", 0) + "\n" + line(2, "local", 0) + "\n" + line(3, "frontier", 300) + "\n");
  RunResult imported = run_process({kLadder, "audit", "import", (dir / "old.jsonl").string(), "--policy", policy});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  RunResult label = run_process({kLadder, "review", "label", "2", "defect", "--note", "wrong", "--policy", policy});
  EXPECT_EQ(label.exit_code, 0) << label.err;
  RunResult stats = run_process({kLadder, "stats", "--policy", policy, "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const json j = json::parse(stats.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << stats.out;
  for (const char* key : {"decisions", "local_acceptance", "escalations_by_task", "failure_reasons", "defect_rate",
                          "fallback_latency_ms", "cost_per_successful_task"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["decisions"], 3);
  EXPECT_NEAR(j["local_acceptance"].get<double>(), 2.0 / 3.0, 1e-9);
  EXPECT_EQ(j["escalations_by_task"]["triage"]["escalated"], 1);
  EXPECT_DOUBLE_EQ(j["defect_rate"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["fallback_latency_ms"]["p50"].get<double>(), 1300);
  // 3 s local x 0.01 + (200x1000 + 20x2000)/1e6 = 0.27 over 2 successes (one defect).
  EXPECT_NEAR(j["cost_per_successful_task"].get<double>(), 0.135, 1e-9);
  RunResult text = run_process({kLadder, "stats", "--policy", policy, "--task", "triage", "--since", "36500d"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("decisions: 3"), std::string::npos) << text.out;

  RunResult sample = run_process({kLadder, "review", "sample", "--policy", policy, "--n", "5"});
  ASSERT_EQ(sample.exit_code, 0) << sample.err;
  EXPECT_EQ(json::parse(sample.out)["id"], 1) << sample.out;  // the only unreviewed local answer
  RunResult exported = run_process({kLadder, "review", "export", "--policy", policy});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const json corpus = json::parse(exported.out);
  EXPECT_EQ(corpus["id"], "review-2");
  EXPECT_EQ(corpus["input"], "log 2");
  EXPECT_EQ(corpus["expect"]["route"], "frontier");
  EXPECT_EQ(corpus["note"], "wrong");

  struct Bad {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {{"stats", "--policy", policy, "--task", "nope"}, "no task 'nope'"},
      {{"stats", "--policy", policy, "--since", "5x"}, "--since"},
      {{"stats", "--policy", policy, "--since", ""}, "--since"},
      {{"review", "label", "abc", "accept", "--policy", policy}, "positive integer"},
      {{"review", "label", "999", "accept", "--policy", policy}, "no decision with id 999"},
      {{"review", "label", "1", "maybe", "--policy", policy}, "maybe"},
      {{"review", "sample", "--policy", policy, "--n", "0"}, "--n"},
      {{"review", "sample", "--policy", policy, "--task", "nope"}, "no task 'nope'"},
  };
  for (const auto& b : bad) {
    std::vector<std::string> argv = {kLadder};
    argv.insert(argv.end(), b.args.begin(), b.args.end());
    RunResult r = run_process(argv);
    EXPECT_EQ(r.exit_code, 2) << b.args[0] << " " << b.args[1] << ": " << r.err;
    EXPECT_NE((r.err + r.out).find(b.says), std::string::npos) << r.err << r.out;
  }
  write_file((dir / "nostore.yaml").string(), R"(version: 1
models:
  small: {backend: embedded, path: models/small.gguf}
tiers:
  - {name: local, models: [small]}
tasks:
  triage: {kind: classify, labels: [build, other], min_confidence: 0.4}
store: {kind: jsonl}
)");
  RunResult nostore = run_process({kLadder, "stats", "--policy", (dir / "nostore.yaml").string()});
  EXPECT_EQ(nostore.exit_code, 2);
  EXPECT_NE(nostore.err.find("no decision store"), std::string::npos) << nostore.err;
  fs::remove_all(dir);
}

// ladder stats --drift over imported records: the moved argument is flagged in its window,
// the steady one is not; --json carries the same list; a bad --window is exit code 2.
TEST(StatsDriftCliTest, DriftFromAStoreWithKnownContent) {
  const fs::path dir = fs::temp_directory_path() / ("ladder-drift-cli-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string policy = (dir / "policy.yaml").string();
  write_file(policy, R"(version: 1
models:
  small: {backend: embedded, path: models/small.gguf}
tiers:
  - {name: local, models: [small]}
tasks:
  triage: {kind: classify, labels: [build, other], min_confidence: 0.4}
store: {kind: sqlite, path: decisions.db}
)");
  std::string log;
  for (int day = 0; day < 3; ++day)
    for (int i = 0; i < 20; ++i) {
      const bool close = (i % 4 == 0) != (day == 2);  // day 3: the share of "close" flips
      char ts[40];
      std::snprintf(ts, sizeof ts, "2024-01-0%dT%02d:00:00.000Z", day + 1, i);
      log += json({{"ts", ts},
                   {"request_id", "d" + std::to_string(day) + "-" + std::to_string(i)},
                   {"task", "triage"},
                   {"route", "local"},
                   {"macro", "stale_sweep_v1"},
                   {"args", {{"action", close ? "close" : "comment"}, {"owner", "acme"}}}})
                 .dump() +
             "\n";
    }
  write_file((dir / "log.jsonl").string(), log);
  RunResult imported = run_process({kLadder, "audit", "import", (dir / "log.jsonl").string(), "--policy", policy});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  RunResult out = run_process({kLadder, "stats", "--policy", policy, "--drift", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const json j = json::parse(out.out, nullptr, false);
  ASSERT_TRUE(j.contains("drift")) << out.out;
  ASSERT_EQ(j["drift"].size(), 2u) << out.out;
  const json& action = j["drift"][0]["argument"] == "action" ? j["drift"][0] : j["drift"][1];
  const json& owner = j["drift"][0]["argument"] == "owner" ? j["drift"][0] : j["drift"][1];
  ASSERT_EQ(action["windows"].size(), 3u);
  EXPECT_FALSE(action["windows"][1]["flagged"].get<bool>());
  EXPECT_TRUE(action["windows"][2]["flagged"].get<bool>());
  EXPECT_EQ(action["windows"][2]["counts"]["close"], 15);
  EXPECT_FALSE(owner["flagged"].get<bool>());

  RunResult text = run_process({kLadder, "stats", "--policy", policy, "--drift", "--window", "2d"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("stale_sweep_v1.action (categorical)"), std::string::npos) << text.out;
  RunResult plain = run_process({kLadder, "stats", "--policy", policy, "--json"});
  EXPECT_FALSE(json::parse(plain.out, nullptr, false).contains("drift"));
  RunResult bad = run_process({kLadder, "stats", "--policy", policy, "--drift", "--window", "0d"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--window"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

// ladder rotate report over a store whose records carry candidate shadow results.
TEST(RotateReportCliTest, ReportFromAStoreWithKnownContent) {
  const fs::path dir = fs::temp_directory_path() / ("ladder-rotate-cli-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string policy = (dir / "policy.yaml").string();
  write_file(policy, R"(version: 1
models:
  small: {backend: embedded, path: models/small.gguf}
tiers:
  - {name: local, models: [small]}
tasks:
  triage: {kind: classify, labels: [build, other], min_confidence: 0.4}
store: {kind: sqlite, path: decisions.db}
)");
  std::string log;
  for (int i = 0; i < 4; ++i)
    log += json({{"ts", "2024-01-01T00:00:0" + std::to_string(i) + ".000Z"},
                 {"request_id", "c" + std::to_string(i)},
                 {"task", "triage"},
                 {"route", "local"},
                 {"label", "build"},
                 {"tiers", json::array({{{"model_name", "small"}, {"latency_ms", 200 + i}}})},
                 {"candidate",
                  {{"model", "small-next"},
                   {"label", i < 3 ? "build" : "other"},
                   {"would_accept", true},
                   {"latency_ms", 100 + i}}}})
               .dump() +
           "\n";
  write_file((dir / "log.jsonl").string(), log);
  ASSERT_EQ(run_process({kLadder, "audit", "import", (dir / "log.jsonl").string(), "--policy", policy}).exit_code, 0);
  EXPECT_EQ(run_process({kLadder, "review", "label", "4", "defect", "--policy", policy}).exit_code, 0);

  RunResult out = run_process({kLadder, "rotate", "report", "--policy", policy, "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const json j = json::parse(out.out, nullptr, false);
  ASSERT_TRUE(j.contains("triage")) << out.out;
  EXPECT_EQ(j["triage"]["shadowed"], 4);
  EXPECT_DOUBLE_EQ(j["triage"]["agreement"].get<double>(), 0.75);
  EXPECT_EQ(j["triage"]["would_be_false_accepts"], 1);
  EXPECT_EQ(j["triage"]["live_latency_ms"]["p50"], 201);
  EXPECT_EQ(j["triage"]["candidate_latency_ms"]["p95"], 103);
  RunResult text = run_process({kLadder, "rotate", "report", "--policy", policy});
  EXPECT_NE(text.out.find("agreement: 75.0%"), std::string::npos) << text.out;
  EXPECT_EQ(run_process({kLadder, "rotate", "report", "--policy", policy, "--task", "nope"}).exit_code, 2);
  for (const char* bad : {"soon", "-1d", "7x", ""}) {
    RunResult r = run_process({kLadder, "rotate", "report", "--policy", policy, "--since", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("since"), std::string::npos) << bad << ": " << r.err;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ladder::testing
