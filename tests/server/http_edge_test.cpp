// The server's edge in process: a job that throws (on the worker pool, through the
// worker bridge, and inside a real request on a real HttpServer on 127.0.0.1) is an
// internal error for that request only; task names a client sends are bounded and never
// become metric labels.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "backends/http/http_client.h"
#include "server/gateway.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/openai_api.h"
#include "server/worker_bridge.h"
#include "server/worker_pool.h"

namespace ladder::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// What a real parse of an unexpected reply shape throws: nlohmann's type_error.
void read_a_number_as_text() {
  const json reply = {{"content", 5}};
  (void)reply["content"].get<std::string>();
}

TEST(WorkerPoolFunnel, AJobThatThrowsLeavesItsWorkerServing) {
  WorkerPool pool(1, 4);
  ASSERT_TRUE(pool.try_submit(read_a_number_as_text));
  ASSERT_TRUE(pool.try_submit([] { throw 42; }));
  std::promise<void> ran;
  ASSERT_TRUE(pool.try_submit([&ran] { ran.set_value(); }));
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready)
      << "the only worker died with the job that threw";
  pool.stop();
}

// Runs `work` through submit_job and waits for the job on an io_context, as an endpoint does.
std::shared_ptr<Job> run_job(WorkerPool& pool, std::function<void(Job&)> work) {
  asio::io_context ioc;
  auto job = make_job(ioc.get_executor());
  EXPECT_TRUE(submit_job(pool, job, [job, work] { work(*job); }));
  bool waited = false;
  asio::co_spawn(
      ioc,
      [job, &waited]() -> Task<void> {
        co_await job->wait_done();
        waited = true;
      },
      asio::detached);
  ioc.run_for(std::chrono::seconds(30));
  EXPECT_TRUE(waited) << "the job never finished";
  return job;
}

TEST(WorkerBridgeFunnel, ThrowingWorkFinishesTheJobWithAnInternalFailure) {
  WorkerPool pool(1, 4);
  auto crashed = run_job(pool, [](Job&) { read_a_number_as_text(); });
  ASSERT_TRUE(crashed->finished());
  ASSERT_TRUE(crashed->crashed.has_value());
  EXPECT_EQ(crashed->crashed->code(), ErrorCode::kInternal);
  EXPECT_EQ(crashed->crashed->message().find("type_error"), std::string::npos) << "the cause goes to the log only";
  EXPECT_FALSE(crashed->value.has_value());

  auto fine = run_job(pool, [](Job& j) { j.value = Result<json>(json{{"ok", true}}); });
  EXPECT_FALSE(fine->crashed.has_value());
  ASSERT_TRUE(fine->value.has_value());
  EXPECT_TRUE(fine->value->ok());
}

// A real HttpServer on 127.0.0.1 whose /v1/run handler throws on its first call.
class ServerFunnelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ladder-http-edge-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "policy.yaml") << "version: 1\nmodels:\n  small:\n    backend: openai\n"
                                           "    base_url: http://127.0.0.1:9/v1\n    model: m\n"
                                           "tiers:\n  - name: local\n    models: [small]\n"
                                           "tasks:\n  triage:\n    kind: classify\n    labels: [a, b]\n";
    GatewayOptions go;
    go.policy_path = (dir_ / "policy.yaml").string();
    go.audit_path = (dir_ / "audit.jsonl").string();
    go.health_interval = std::chrono::milliseconds(0);
    declare_server_metrics(metrics_);
    auto gw = Gateway::create(go, metrics_);
    ASSERT_TRUE(gw.ok()) << gw.status().to_string();
    gateway_ = std::move(gw).value();
  }
  void TearDown() override {
    if (server_) server_->request_stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    gateway_.reset();
    fs::remove_all(dir_);
  }
  void start(ServerOptions o) {
    server_ = std::make_unique<HttpServer>(std::move(o), *gateway_);
    auto port = server_->listen();
    ASSERT_TRUE(port.ok()) << port.status().to_string();
    base_ = "http://127.0.0.1:" + std::to_string(*port);
    thread_ = std::thread([this] { server_->run(); });
  }
  Result<ladder::http::Response> call(const std::string& method, const std::string& path,
                                      const std::string& body = "") {
    ladder::http::Request r;
    r.method = method;
    r.url = base_ + path;
    r.body = body;
    return client_.send(r);
  }

  fs::path dir_;
  MetricsRegistry metrics_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::string base_;
  ladder::http::Client client_;
};

TEST_F(ServerFunnelTest, AnExceptionInARequestIsA500AndTheServerKeepsServing) {
  std::atomic<int> calls{0};
  ServerOptions o;
  o.workers = 1;
  o.run_handler = [&calls](const json&, const ClientIdentity&) -> Result<json> {
    if (calls++ == 0) read_a_number_as_text();
    return json{{"status", "ok"}};
  };
  start(std::move(o));

  auto failed = call("POST", "/v1/run", R"({"request": "anything"})");
  ASSERT_TRUE(failed.ok()) << failed.status().to_string();
  EXPECT_EQ(failed->status, 500) << failed->body;
  const json e = json::parse(failed->body, nullptr, false);
  ASSERT_TRUE(e.is_object() && e.contains("error")) << failed->body;
  EXPECT_EQ(e["error"]["code"], "internal");
  EXPECT_EQ(e["error"]["type"], "api_error");

  auto health = call("GET", "/healthz");
  ASSERT_TRUE(health.ok()) << health.status().to_string();
  EXPECT_EQ(health->status, 200);
  auto again = call("POST", "/v1/run", R"({"request": "anything"})");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(metrics_.value("ladder_http_requests_total", {{"endpoint", "/v1/run"}, {"status", "500"}}), 1.0);
}

TEST(TaskNames, AreBoundedAndMadeOfTheEdgeCharset) {
  std::string param;
  EXPECT_TRUE(check_task_name(std::string(kMaxTaskNameBytes, 'a'), "task", &param).ok());
  EXPECT_TRUE(check_task_name("ns:triage-v1.2_x", "task", &param).ok());
  for (const std::string& bad : {std::string(kMaxTaskNameBytes + 1, 'a'), std::string(), std::string("a b"),
                                 std::string("a/b"), std::string("t\xc3\xa4sk"), std::string("a\nb")}) {
    param.clear();
    Status s = check_task_name(bad, "ladder.task", &param);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(param, "ladder.task");
  }
  auto parsed = parse_chat_request(
      json{{"model", "ladder/" + std::string(200, 'x')}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}.dump(),
      &param);
  EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(param, "model");
}

TEST(TaskNames, UnknownOnesAreNotFoundUnlessThePolicyEscalatesThem) {
  Config c;
  c.tasks["triage"].name = "triage";
  EXPECT_TRUE(admit_task(c, "triage").ok());
  EXPECT_EQ(admit_task(c, "nope").code(), ErrorCode::kNotFound);
  c.escalate_unknown_tasks = true;
  EXPECT_TRUE(admit_task(c, "nope").ok());
}

TEST_F(ServerFunnelTest, DecisionMetricsLabelOnlyThePolicysTasks) {
  Decision known;
  known.task = "triage";
  known.route = "frontier";
  Decision unknown = known;
  unknown.task = "made_up_by_a_client";
  gateway_->record_decision(known);
  gateway_->record_decision(unknown);
  EXPECT_EQ(metrics_.value("ladder_decisions_total", {{"reason", "none"}, {"route", "frontier"}, {"task", "triage"}}),
            1.0);
  EXPECT_EQ(metrics_.value("ladder_decisions_total", {{"reason", "none"}, {"route", "frontier"}, {"task", "other"}}),
            1.0);
  EXPECT_EQ(metrics_.render().find("made_up_by_a_client"), std::string::npos);
}

}  // namespace
}  // namespace ladder::server
