// Black-box tests of the server's edge (docs/hardening.md, "Server edge"): client task
// names (bounded, checked, unknown ones refused, never metric labels), the write and idle
// timeouts, the connection caps and the /metrics token. The real `ladder serve` with both
// tiers on fake model servers (tests/fakes/fake_frontier.py), over plain sockets.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "serve_client.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A client connection kept open by the test: from a chosen loopback address, with an
// optional small receive buffer, reading only when told to.
class Conn {
 public:
  Conn(int port, const std::string& source = "127.0.0.1", int receive_buffer = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<uint16_t>(port));
    connected_ = bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0 &&
                 connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  }
  ~Conn() { close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool connected() const { return connected_; }
  bool send_all(const std::string& data) {
    for (std::size_t off = 0; off < data.size();) {
      ssize_t n = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  // One response with a Content-Length body (status -1 when the connection ends first).
  Response read_response(int timeout_s = 30) {
    set_read_timeout(timeout_s);
    std::string raw;
    for (;;) {
      auto sep = raw.find("\r\n\r\n");
      if (sep != std::string::npos) {
        Response head = parse_response(raw);
        const std::size_t length =
            std::stoul(head.header("content-length").empty() ? "0" : head.header("content-length"));
        if (raw.size() >= sep + 4 + length) return parse_response(raw.substr(0, sep + 4 + length));
      }
      if (!read_some(raw)) return {};
    }
  }
  // Everything until the server closes (or the read deadline passes).
  std::string read_to_end(int timeout_s = 30) {
    set_read_timeout(timeout_s);
    std::string raw;
    while (read_some(raw)) {
    }
    return raw;
  }
  // True when the server closed the connection (EOF or reset) within timeout_s.
  bool closed_by_peer(int timeout_s = 30) {
    set_read_timeout(timeout_s);
    std::string ignored;
    while (read_some(ignored)) {
    }
    return errno != EAGAIN && errno != EWOULDBLOCK;
  }

 private:
  void set_read_timeout(int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  bool read_some(std::string& out) {
    char buf[65536];
    errno = 0;
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    out.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

std::string keep_alive_get(const std::string& path) { return request_text("GET", path, "", {}, "keep-alive"); }

// The value of one sample line ("name{labels} value") of a /metrics text; 0 when absent.
double sample(const std::string& metrics, const std::string& series) {
  std::istringstream in(metrics);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return 0.0;
}

// Sample lines of one family (labels included), histogram and summary lines aside.
int series_count(const std::string& metrics, const std::string& family) {
  std::istringstream in(metrics);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.rfind(family + "{", 0) == 0 ? 1 : 0;
  return n;
}

// Polls `done` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& done, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

void expect_error(const Response& r, int status, const std::string& code, const std::string& param = "") {
  EXPECT_EQ(r.status, status) << r.body.substr(0, 400);
  const json e = r.json_body();
  ASSERT_TRUE(e.is_object() && e.contains("error")) << r.body.substr(0, 400);
  EXPECT_EQ(e["error"]["code"], code) << r.body.substr(0, 400);
  if (!param.empty()) {
    EXPECT_EQ(e["error"]["param"], param) << r.body.substr(0, 400);
  }
}

class ServeEdgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-not-secret", 1);
    dir_ = fs::temp_directory_path() / ("ladder-serve-edge-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ASSERT_GT(frontier_.port, 0);
    ASSERT_GT(local_.port, 0);
  }
  void TearDown() override {
    serve_.reset();
    fs::remove_all(dir_);
  }
  // ladder serve on the fakes' policy (plus `policy_extra`) with `flags`.
  void start(std::vector<std::string> flags, const std::string& policy_extra = "") {
    write_file(policy(), fake_tiers_policy_text(frontier_.port, local_.port) + policy_extra);
    for (const char* f : {"--health-interval-ms", "0", "--audit"}) flags.emplace_back(f);
    flags.push_back(dir_ + "/audit.jsonl");
    serve_ = std::make_unique<Serve>(flags, policy());
    ASSERT_GT(serve_->port, 0) << "ladder serve did not start";
  }
  std::string policy() const { return dir_ + "/policy.yaml"; }
  std::string metrics() const { return http(serve_->port, "GET", "/metrics", "").body; }
  json model_calls() const {
    json all = frontier_.posts();
    for (auto& p : local_.posts()) all.push_back(p);
    return all;
  }

  std::string dir_;
  Fake frontier_;
  Fake local_;
  std::unique_ptr<Serve> serve_;
};

const std::string kBuildLog = "make: *** [all] Error 2";

TEST_F(ServeEdgeTest, UnknownTaskIsNotFoundAndCallsNoModel) {
  start({});
  expect_error(serve_->post("/v1/chat/completions", chat_body("ladder/no_such_task", kBuildLog)), 404, "not_found",
               "model");
  expect_error(serve_->post("/v1/chat/completions",
                            chat_body("ladder/auto", kBuildLog, {{"ladder", {{"task", "no_such_task"}}}})),
               404, "not_found", "ladder.task");
  expect_error(serve_->post("/v1/route", {{"task", "no_such_task"}, {"input", kBuildLog}}), 404, "not_found", "task");
  expect_error(serve_->post("/v1/run", {{"request", "label the stale issues"}, {"task", "no_such_task"}}), 404,
               "not_found");
  EXPECT_TRUE(model_calls().empty()) << "an unknown task is not a paid escalation: " << model_calls().dump();
  EXPECT_EQ(metrics().find("no_such_task"), std::string::npos);
  // A task of the policy is still served.
  Response known = serve_->post("/v1/route", {{"task", "security_review"}, {"input", "review auth.go"}});
  EXPECT_EQ(known.status, 200) << known.body;
  EXPECT_EQ(frontier_.posts().size(), 1u);
}

TEST_F(ServeEdgeTest, OversizedOrOddTaskNamesAreRefusedAtTheEdge) {
  start({});
  const std::string huge(900 * 1024, 'a');
  Response r = serve_->post("/v1/chat/completions", chat_body("ladder/" + huge, kBuildLog));
  expect_error(r, 400, "invalid_argument", "model");
  EXPECT_LT(r.body.size(), 1024u) << "the refusal does not echo the name";
  expect_error(
      serve_->post("/v1/chat/completions", chat_body("ladder/auto", kBuildLog, {{"ladder", {{"task", "two words"}}}})),
      400, "invalid_argument", "ladder.task");
  expect_error(serve_->post("/v1/chat/completions", chat_body("ladder/auto", kBuildLog, {{"ladder_task", "a\nb"}})),
               400, "invalid_argument", "ladder_task");
  expect_error(serve_->post("/v1/route", {{"task", std::string(129, 'a')}, {"input", kBuildLog}}), 400,
               "invalid_argument", "task");
  expect_error(serve_->post("/v1/route", {{"task", std::string(128, 'a')}, {"input", kBuildLog}}), 404, "not_found",
               "task");
  expect_error(serve_->post("/v1/run", {{"request", "x"}, {"task", "bad/name"}}), 400, "invalid_argument");
  EXPECT_TRUE(model_calls().empty()) << model_calls().dump();
}

TEST_F(ServeEdgeTest, ClientTaskNamesAddNoMetricSeriesEvenWhenTheyEscalate) {
  start({}, "\nescalate_unknown_tasks: true\n");
  auto name = [](int i) { return std::string(120, 'q') + "-" + std::to_string(i); };
  auto send = [&](int i) {  // odd: chat completions, even: the native route
    return i % 2 ? serve_->post("/v1/chat/completions", chat_body("ladder/" + name(i), kBuildLog))
                 : serve_->post("/v1/route", {{"task", name(i)}, {"input", kBuildLog}});
  };
  Response first = send(0);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json_body()["decision"]["reason"], "unknown_task");
  ASSERT_EQ(send(1).status, 200);
  const std::string before = metrics();  // every endpoint and family used once
  for (int i = 2; i < 30; ++i) {
    Response r = send(i);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const std::string after = metrics();
  EXPECT_EQ(series_count(after, "ladder_decisions_total"), series_count(before, "ladder_decisions_total"));
  EXPECT_EQ(after.find(std::string(120, 'q')), std::string::npos) << "a client's task name became a label";
  EXPECT_LT(after.size(), before.size() + 2048) << "/metrics grew with the number of distinct task names";
  EXPECT_EQ(sample(after, R"(ladder_decisions_total{reason="unknown_task",route="frontier",task="other"})"), 30.0);
  EXPECT_EQ(frontier_.posts().size(), 30u) << "the policy asked for unknown tasks to escalate";
}

TEST_F(ServeEdgeTest, ClientThatStopsReadingIsDisconnectedAfterTheWriteTimeout) {
  // A small kernel send buffer, so that a 2 MB reply cannot vanish into it.
  start({"--write-timeout-ms", "500", "--send-buffer-bytes", "65536"});
  frontier_.control("/_answer", {{"text", std::string(2 * 1024 * 1024, 'z')}});
  Conn reader(serve_->port, "127.0.0.1", /*receive_buffer=*/4096);
  ASSERT_TRUE(reader.connected());
  ASSERT_TRUE(reader.send_all(request_text(
      "POST", "/v1/chat/completions", chat_body("claude-sonnet-4-5", "a long answer, please").dump(), {}, "close")));
  // The client reads nothing: the write stalls, and the server gives up on it.
  const std::string series = R"(ladder_connection_timeouts_total{kind="write"})";
  ASSERT_TRUE(eventually([&] { return sample(metrics(), series) >= 1.0; })) << metrics();
  // What reaches the client is a reply cut short, then the end of the connection.
  Response cut = parse_response(reader.read_to_end());
  ASSERT_EQ(cut.status, 200);
  EXPECT_LT(cut.body.size(), std::stoul(cut.header("content-length")));
  EXPECT_EQ(http(serve_->port, "GET", "/healthz", "").status, 200) << "the server goes on";
}

TEST_F(ServeEdgeTest, HalfSentRequestIsClosedAfterTheIdleTimeout) {
  start({"--idle-timeout-ms", "300"});
  Conn slow(serve_->port);
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.send_all("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));  // the header never ends
  EXPECT_TRUE(slow.closed_by_peer());
  EXPECT_GE(sample(metrics(), R"(ladder_connection_timeouts_total{kind="idle"})"), 1.0);
}

TEST_F(ServeEdgeTest, ConnectionCapsHoldPerClientAddressAndOverall) {
  start({"--max-connections", "3", "--max-connections-per-client", "2"});
  const int port = serve_->port;
  auto admitted = [port](const std::string& from) {
    auto c = std::make_unique<Conn>(port, from);
    EXPECT_TRUE(c->connected() && c->send_all(keep_alive_get("/healthz")));
    EXPECT_EQ(c->read_response().status, 200) << "from " << from;
    return c;
  };
  auto refused = [port](const std::string& from, int status, const std::string& code) {
    Conn c(port, from);
    ASSERT_TRUE(c.connected() && c.send_all(keep_alive_get("/healthz")));
    Response r = c.read_response();
    expect_error(r, status, code);
    EXPECT_EQ(r.header("retry-after"), "1");
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(c.closed_by_peer());
  };
  auto a1 = admitted("127.0.0.1");
  auto a2 = admitted("127.0.0.1");
  refused("127.0.0.1", 429, "rate_limited");  // a third from the same address
  auto b1 = admitted("127.0.0.2");
  refused("127.0.0.3", 503, "unavailable");  // a fourth in all
  // Closing one frees its slot.
  a1.reset();
  ASSERT_TRUE(eventually([&] {
    Conn c(port, "127.0.0.3");
    return c.send_all(keep_alive_get("/healthz")) && c.read_response().status == 200;
  }));
  a2.reset();
  b1.reset();
  std::string m;
  ASSERT_TRUE(eventually([&] {
    m = http(port, "GET", "/metrics", "").body;
    return !m.empty();
  }));
  EXPECT_GE(sample(m, R"(ladder_rejected_total{cause="client_connection_limit"})"), 1.0);
  EXPECT_GE(sample(m, R"(ladder_rejected_total{cause="connection_limit"})"), 1.0);
}

TEST_F(ServeEdgeTest, MetricsTokenIsRequiredWhenConfigured) {
  setenv("LADDER_TEST_METRICS", "metrics-secret-for-tests", 1);
  start({"--metrics-token-env", "LADDER_TEST_METRICS"});
  expect_error(http(serve_->port, "GET", "/metrics", ""), 401, "unauthenticated");
  expect_error(http(serve_->port, "GET", "/metrics", "", {{"Authorization", "Bearer wrong"}}), 401, "unauthenticated");
  Response ok = http(serve_->port, "GET", "/metrics", "", {{"Authorization", "Bearer metrics-secret-for-tests"}});
  ASSERT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("ladder_http_requests_total"), std::string::npos);
  EXPECT_EQ(http(serve_->port, "GET", "/healthz", "").status, 200) << "health stays open";

  unsetenv("LADDER_TEST_METRICS_UNSET");
  RunResult unset = run_process(
      {kLadder, "serve", "--policy", policy(), "--port", "0", "--metrics-token-env", "LADDER_TEST_METRICS_UNSET"}, "",
      60);
  EXPECT_NE(unset.exit_code, 0);
  EXPECT_NE(unset.err.find("--metrics-token-env"), std::string::npos) << unset.err;
}

// /v1/run routes through the gateway as chat does: the kill switch of its route_macro
// task applies and the decision is counted.
TEST_F(ServeEdgeTest, RunRequestsObeyTheKillSwitchAndAreCounted) {
  setenv("LADDER_TEST_ADMIN", kAdminToken.c_str(), 1);
  start({"--admin-token-env", "LADDER_TEST_ADMIN"});
  ASSERT_EQ(serve_->admin("/admin/kill-switch", {{"enabled", true}, {"task", "route_macro"}}).status, 200);
  Response r = serve_->post("/v1/run", {{"request", "Assign labels to the 8 latest pull requests of plume/router"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["status"], "escalated") << r.body;
  EXPECT_EQ(r.json_body()["decision"]["reason"], "manual_override") << r.body;
  EXPECT_TRUE(local_.posts().empty()) << "the kill switch sends it past the local tier";
  EXPECT_NE(
      metrics().find("ladder_decisions_total{reason=\"manual_override\",route=\"frontier\",task=\"route_macro\"} 1"),
      std::string::npos)
      << metrics();
}

}  // namespace
}  // namespace ladder::testing
