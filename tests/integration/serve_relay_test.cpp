// Pass-through relay (`docs/server.md`, Relay): a chat request for a configured model
// whose backend speaks OpenAI's API goes to the upstream as the client sent it, and the
// reply comes back as the upstream sent it, tool calls included, plain or streamed. The
// real binary with both tiers on fake_frontier.py processes (no embedded model).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "process.h"
#include "serve_client.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const json kWeatherCall = {{"id", "call_w1"}, {"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}};

// A conversation an agent sends on its second step: the tool it called and its result.
json agent_body(bool stream) {
  json body = json::parse(R"({
    "model": "gemma-local",
    "messages": [
      {"role": "developer", "content": "You answer with tools."},
      {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"},
                                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lyon\"}"}}]},
      {"role": "tool", "tool_call_id": "call_0", "content": "12 C"}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
               "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "tool_choice": "auto", "parallel_tool_calls": false, "seed": 7, "top_p": 0.5, "stop": ["END"],
    "max_completion_tokens": 64, "user": "agent-7", "metadata": {"run": "r1"},
    "a_field_from_next_year": {"nested": [1, 2]},
    "ladder": {"privacy": false}
  })");
  body["stream"] = stream;
  return body;
}

// The content deltas of a streamed chat answer's events, joined.
std::string streamed_text(const std::vector<json>& events) {
  std::string text;
  for (const auto& e : events)
    if (e.is_object() && e.contains("choices") && !e["choices"].empty() && e["choices"][0].contains("delta") &&
        e["choices"][0]["delta"].contains("content") && e["choices"][0]["delta"]["content"].is_string())
      text += e["choices"][0]["delta"]["content"].get<std::string>();
  return text;
}

class ServeRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ladder-serve-relay-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ASSERT_GT(local_.port, 0);
    ASSERT_GT(frontier_.port, 0);
    write_file(dir_ / "policy.yaml", fake_tiers_policy_text(frontier_.port, local_.port));
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-not-secret", 1);
    serve_ =
        std::make_unique<Serve>(std::vector<std::string>{"--audit", dir_ / "audit.jsonl", "--health-interval-ms", "0"},
                                dir_ / "policy.yaml", dir_ / "stderr.log");
    ASSERT_GT(serve_->port, 0) << read_file(dir_ / "stderr.log");
  }
  void TearDown() override {
    serve_.reset();
    fs::remove_all(dir_);
  }
  // The server again, with one worker thread (and a short queue).
  void serve_with_one_worker() {
    serve_.reset();
    serve_ = std::make_unique<Serve>(std::vector<std::string>{"--audit", dir_ / "audit.jsonl", "--health-interval-ms",
                                                              "0", "--workers", "1", "--max-queue", "4"},
                                     dir_ / "policy.yaml", dir_ / "stderr.log");
    ASSERT_GT(serve_->port, 0) << read_file(dir_ / "stderr.log");
  }
  // The fake's next model call waits until POST /_release (20 s at most).
  static void hold_next_call(Fake& fake) {
    fake.control("/_fail", {{"mode", "hold"}, {"count", 1}, {"delay_ms", 20000}});
  }
  // Returns once the fake holds `count` calls at once.
  static void wait_until_held(const Fake& fake, int count = 1) {
    Response held = http(fake.port, "POST", "/_wait_held", json{{"count", count}, {"timeout_ms", 10000}}.dump());
    ASSERT_EQ(held.status, 200) << held.body;
  }
  void script(const json& replies) { local_.control("/_script", {{"replies", replies}}); }
  // The audit records of route pass_through (each line parsed).
  std::vector<json> relay_records() const {
    std::vector<json> out;
    std::istringstream in(read_file(dir_ / "audit.jsonl"));
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("route", "") == "pass_through") out.push_back(j);
    }
    return out;
  }
  // Waits (bounded) for the n-th pass-through record: a stream's record is written after
  // its last byte went out.
  std::vector<json> wait_for_records(std::size_t n) const {
    std::vector<json> got;
    for (int i = 0; i < 500 && (got = relay_records()).size() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return got;
  }

  fs::path dir_;
  Fake local_;
  Fake frontier_;
  std::unique_ptr<Serve> serve_;
};

TEST_F(ServeRelayTest, ToolCallAndEveryFieldGoThroughAsSent) {
  script(json::array({{{"tool_calls", {kWeatherCall}}}}));
  json sent = agent_body(false);
  Response r = serve_->post("/v1/chat/completions", sent);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ladder-route"), "pass_through");
  EXPECT_EQ(r.header("x-ladder-model"), "gemma-local");
  const json reply = r.json_body();
  const json& message = reply["choices"][0]["message"];
  EXPECT_TRUE(message["content"].is_null()) << r.body;
  EXPECT_EQ(message["tool_calls"][0]["id"], "call_w1");
  EXPECT_EQ(message["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(message["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            kWeatherCall["arguments"]);
  EXPECT_EQ(reply["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_FALSE(reply.contains("ladder")) << "a relayed reply is the upstream's";

  // The upstream got the body as sent: every field, the model set to its id, and none of
  // ladder's extension fields.
  json posts = local_.posts();
  ASSERT_EQ(posts.size(), 1u);
  json expected = sent;
  expected.erase("ladder");
  expected["model"] = "local-fake";
  EXPECT_EQ(posts[0]["body"], expected);

  auto records = relay_records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["relayed"], true);
  EXPECT_EQ(records[0]["tool_calls"], 1);
  EXPECT_EQ(records[0]["finish_reason"], "tool_calls");
  EXPECT_EQ(records[0]["delivered"], true);
  EXPECT_EQ(records[0]["user"], "agent-7");
  EXPECT_GT(records[0]["prompt_tokens"].get<int>(), 0);
}

TEST_F(ServeRelayTest, StreamedToolCallDeltasArriveLineByLine) {
  script(json::array({{{"tool_calls", {kWeatherCall}}}}));
  Response r = serve_->post("/v1/chat/completions", agent_body(true));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = sse_events(r.body);
  ASSERT_GE(events.size(), 6u) << r.body;
  EXPECT_EQ(events.back(), "[DONE]");
  std::string arguments, id, name;
  std::string finish;
  for (const auto& e : events) {
    if (!e.is_object()) continue;
    const json& choice = e["choices"][0];
    if (choice["finish_reason"].is_string()) finish = choice["finish_reason"];
    if (!choice["delta"].contains("tool_calls")) continue;
    const json& call = choice["delta"]["tool_calls"][0];
    EXPECT_EQ(call["index"], 0);
    if (call.contains("id")) id = call["id"];
    if (call["function"].contains("name")) name = call["function"]["name"];
    arguments += call["function"]["arguments"].get<std::string>();
  }
  EXPECT_EQ(id, "call_w1");
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(json::parse(arguments), kWeatherCall["arguments"]);
  EXPECT_EQ(finish, "tool_calls");
  auto records = wait_for_records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["stream"], true);
  EXPECT_EQ(records[0]["tool_calls"], 1);
  EXPECT_EQ(records[0]["delivered"], true);
}

TEST_F(ServeRelayTest, AStreamCutInsideAToolCallEndsWithAnErrorEventAndIsAuditedUndelivered) {
  script(json::array({{{"tool_calls", {kWeatherCall}}}}));
  local_.control("/_fail", {{"mode", "stream_cut"}, {"after_chunks", 2}});
  Response r = serve_->post("/v1/chat/completions", agent_body(true));
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = sse_events(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back(), "[DONE]") << r.body;
  ASSERT_TRUE(events.back().is_object());
  EXPECT_EQ(events.back()["error"]["code"], "connection_reset") << r.body;
  EXPECT_EQ(r.body.find("127.0.0.1"), std::string::npos) << "no upstream address in a client reply";
  auto records = wait_for_records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["delivered"], false);
  EXPECT_EQ(records[0]["mid_stream"], true);
  EXPECT_EQ(records[0]["ok"], false);
}

TEST_F(ServeRelayTest, AClientThatGoesAwayMidStreamIsAuditedAsNotDelivered) {
  script(json::array({{{"tool_calls", {kWeatherCall}}}}));
  local_.control("/_fail", {{"mode", "stream_stall"}, {"after_chunks", 1}, {"delay_ms", 500}});
  int fd = connect_loopback(serve_->port);
  ASSERT_GE(fd, 0);
  const std::string body = agent_body(true).dump();
  const std::string request =
      request_text("POST", "/v1/chat/completions", body, {{"Authorization", "Bearer " + kAliceKey}}, "close");
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[4096];
  while (got.find("call_w1") == std::string::npos) {  // the first tool-call delta
    ssize_t n = read(fd, buf, sizeof buf);
    ASSERT_GT(n, 0) << got;
    got.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);  // during the upstream's stall
  auto records = wait_for_records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["delivered"], false) << records[0].dump();
  EXPECT_EQ(records[0]["cancelled_by_client"], true) << records[0].dump();
}

TEST_F(ServeRelayTest, UpstreamClientErrorsAreRelayedAndRateLimitsKeepRetryAfter) {
  local_.control("/_fail", {{"mode", "400"}});
  Response bad = serve_->post("/v1/chat/completions", agent_body(false));
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.json_body()["error"]["message"], "bad request in fake") << "the upstream's words on the request";
  EXPECT_EQ(bad.header("x-ladder-route"), "pass_through");

  local_.control("/_fail", {{"mode", "429"}, {"retry_after", 7}});
  Response limited = serve_->post("/v1/chat/completions", agent_body(true));
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(limited.header("retry-after"), "7");
  EXPECT_EQ(limited.json_body()["error"]["code"], "rate_limited");

  local_.control("/_fail", {{"mode", "garbage"}});
  Response garbage = serve_->post("/v1/chat/completions", agent_body(false));
  EXPECT_EQ(garbage.status, 502) << garbage.body;
  EXPECT_EQ(garbage.body.find("127.0.0.1"), std::string::npos) << garbage.body;
}

TEST_F(ServeRelayTest, MalformedAgentRequestsAreRefusedBeforeAnyUpstreamCall) {
  struct Case {
    std::string field;
    json value;
    std::string param;
  };
  json no_call_id = agent_body(false);
  no_call_id["messages"][3].erase("tool_call_id");
  json odd_part = agent_body(false);
  odd_part["messages"][1]["content"][1] = {{"type", "hologram"}};
  json args_object = agent_body(false);
  args_object["messages"][2]["tool_calls"][0]["function"]["arguments"] = {{"city", "Lyon"}};
  json tools_string = agent_body(false);
  tools_string["tools"] = "get_weather";
  json bad_choice = agent_body(false);
  bad_choice["tool_choice"] = "sometimes";
  const std::vector<std::pair<json, std::string>> cases = {
      {no_call_id, "messages[3].tool_call_id"},
      {odd_part, "messages[1].content[1].type"},
      {args_object, "messages[2].tool_calls[0].function.arguments"},
      {tools_string, "tools"},
      {bad_choice, "tool_choice"}};
  for (const auto& [body, param] : cases) {
    Response r = serve_->post("/v1/chat/completions", body);
    EXPECT_EQ(r.status, 400) << param << ": " << r.body;
    EXPECT_EQ(r.json_body()["error"]["param"], param) << r.body;
  }
  EXPECT_EQ(local_.posts().size(), 0u);
}

TEST_F(ServeRelayTest, FieldsOnlyARelayCarriesAreRefusedWhereTheyWouldBeDropped) {
  // The frontier model speaks Anthropic's API: its chat pass-through cannot carry tools.
  json to_anthropic = agent_body(false);
  to_anthropic["model"] = "claude-sonnet-4-5";
  Response r = serve_->post("/v1/chat/completions", to_anthropic);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.json_body()["error"]["message"].get<std::string>().find("anthropic"), std::string::npos) << r.body;
  // A ladder task reads text: an image part is refused, not dropped.
  json to_task = agent_body(false);
  to_task["model"] = "ladder/classify_issue";
  r = serve_->post("/v1/chat/completions", to_task);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json_body()["error"]["param"], "messages[1].content[1]") << r.body;
  EXPECT_EQ(local_.posts().size(), 0u);
  EXPECT_EQ(frontier_.posts().size(), 0u);
}

TEST_F(ServeRelayTest, PerKeyLimitsAnswer429WithRetryAfterBeforeAnyModelCall) {
  write_file(dir_ / "keys.yaml", "alice: {key: " + kAliceKey +
                                     ", limits: {requests_per_minute: 2}}\n"
                                     "bob: {key: sk-bob-test-key, limits: {tokens_per_minute: 5}}\n"
                                     "carol: sk-carol-test-key\n");
  serve_.reset();
  serve_ = std::make_unique<Serve>(std::vector<std::string>{"--audit", dir_ / "audit.jsonl", "--health-interval-ms",
                                                            "0", "--api-keys-file", dir_ / "keys.yaml"},
                                   dir_ / "policy.yaml", dir_ / "stderr.log");
  ASSERT_GT(serve_->port, 0) << read_file(dir_ / "stderr.log");
  const json body = chat_body("gemma-local", "hi");
  EXPECT_EQ(serve_->post("/v1/chat/completions", body).status, 200);
  EXPECT_EQ(serve_->post("/v1/chat/completions", body).status, 200);
  Response over = serve_->post("/v1/chat/completions", body);
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(over.json_body()["error"]["code"], "rate_limited");
  const int wait = std::atoi(over.header("retry-after").c_str());
  EXPECT_GE(wait, 1);
  EXPECT_LE(wait, 60);
  // The same client on /v1/messages: refused in Anthropic's shape.
  Response messages = serve_->post(
      "/v1/messages",
      {{"model", "ladder/classify_issue"}, {"max_tokens", 16}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(messages.status, 429) << messages.body;
  EXPECT_EQ(messages.json_body()["error"]["type"], "rate_limit_error") << messages.body;
  EXPECT_EQ(local_.posts().size(), 2u) << "refused requests reach no model";

  // Tokens: bob's first call uses more than 5, so his next one waits.
  EXPECT_EQ(serve_->post("/v1/chat/completions", body, "sk-bob-test-key").status, 200);
  Response tokens = serve_->post("/v1/chat/completions", body, "sk-bob-test-key");
  EXPECT_EQ(tokens.status, 429) << tokens.body;
  EXPECT_NE(tokens.body.find("5 tokens per minute"), std::string::npos) << tokens.body;
  // A client without limits is not held back by the others'.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(serve_->post("/v1/chat/completions", body, "sk-carol-test-key").status, 200);

  Response metrics = serve_->get("/metrics");
  EXPECT_NE(metrics.body.find("ladder_rejected_total{cause=\"client_requests_per_minute\"} 2"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("ladder_rejected_total{cause=\"client_tokens_per_minute\"} 1"), std::string::npos);
}

// The same for a routed request whose escalation streams: the decision's record says the
// answer was not delivered.
TEST_F(ServeRelayTest, ARoutedStreamTheClientLeftIsAuditedAsNotDelivered) {
  frontier_.control("/_answer", {{"text", "one two three four five six seven eight"}});
  frontier_.control("/_fail", {{"mode", "stream_stall"}, {"after_chunks", 1}, {"delay_ms", 500}});
  int fd = connect_loopback(serve_->port);
  ASSERT_GE(fd, 0);
  const std::string body = chat_body("ladder/security_review", "review auth.go", {{"stream", true}}).dump();
  const std::string request =
      request_text("POST", "/v1/chat/completions", body, {{"Authorization", "Bearer " + kAliceKey}}, "close");
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[4096];
  while (got.find("one ") == std::string::npos) {  // the first streamed word
    ssize_t n = read(fd, buf, sizeof buf);
    ASSERT_GT(n, 0) << got;
    got.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);  // during the frontier's stall
  json record;
  for (int i = 0; i < 500 && record.is_null(); ++i) {
    std::istringstream in(read_file(dir_ / "audit.jsonl"));
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("task", "") == "security_review") record = j;
    }
    if (record.is_null()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(record.is_object()) << "no decision record";
  EXPECT_EQ(record["route"], "frontier");
  EXPECT_EQ(record["delivered"], false) << record.dump();
  EXPECT_EQ(record["cancelled_by_client"], true) << record.dump();
}

// A relay runs on the I/O threads: with the only worker busy on a routed request (its
// tier-0 call held by the fake), a pass-through request is answered at once instead of
// waiting in the worker queue behind it.
TEST_F(ServeRelayTest, RelaysDoNotWaitBehindTheWorkers) {
  ASSERT_NO_FATAL_FAILURE(serve_with_one_worker());
  hold_next_call(local_);
  auto routed = std::async(std::launch::async, [&] {
    return serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", "make: *** [all] Error 2"}});
  });
  // The worker is now inside the held tier-0 call.
  ASSERT_NO_FATAL_FAILURE(wait_until_held(local_));

  Response relayed = serve_->post("/v1/chat/completions", agent_body(false));
  EXPECT_EQ(relayed.status, 200) << relayed.body;
  EXPECT_EQ(relayed.header("x-ladder-route"), "pass_through");
  EXPECT_EQ(routed.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the routed request was still held when the relay was answered";

  local_.control("/_release", json::object());
  EXPECT_EQ(routed.get().status, 200);
}

// Escalations run on the I/O threads too (docs/server.md, Threads): with the only worker
// held in a routed request's tier-0 call, a request sent up by a rule (here the caller's
// force_frontier) is answered, streamed, without waiting for that worker.
TEST_F(ServeRelayTest, EscalationsDoNotWaitBehindTheWorkers) {
  ASSERT_NO_FATAL_FAILURE(serve_with_one_worker());
  hold_next_call(local_);
  auto routed = std::async(std::launch::async, [&] {
    return serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", "make: *** [all] Error 2"}});
  });
  ASSERT_NO_FATAL_FAILURE(wait_until_held(local_));

  json body = {{"model", "ladder/classify_issue"},
               {"messages", {{{"role", "user"}, {"content", "make: *** [all] Error 2"}}}},
               {"stream", true},
               {"ladder", {{"force_frontier", true}}}};
  Response up = serve_->post("/v1/chat/completions", body);
  EXPECT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(up.header("x-ladder-route"), "frontier");
  auto events = sse_events(up.body);
  ASSERT_FALSE(events.empty()) << up.body;
  EXPECT_EQ(events.back(), "[DONE]") << up.body;
  const std::string text = streamed_text(events);
  EXPECT_FALSE(text.empty()) << up.body;
  EXPECT_EQ(routed.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the routed request was still held when the escalation was answered";

  local_.control("/_release", json::object());
  EXPECT_EQ(routed.get().status, 200);
}

// A frontier call holds no worker: while one escalation waits on a held frontier, a
// request that needs the local tier is served by the only worker.
TEST_F(ServeRelayTest, FrontierCallsDoNotHoldAWorker) {
  ASSERT_NO_FATAL_FAILURE(serve_with_one_worker());
  hold_next_call(frontier_);
  auto up = std::async(std::launch::async, [&] {
    return serve_->post("/v1/route",
                        {{"task", "classify_issue"}, {"input", "make: *** [all] Error 2"}, {"force_frontier", true}});
  });
  ASSERT_NO_FATAL_FAILURE(wait_until_held(frontier_));

  Response local = serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", "make: *** [all] Error 2"}});
  EXPECT_EQ(local.status, 200) << local.body;
  ASSERT_GE(local_.posts().size(), 1u) << "the local tier was asked";
  EXPECT_EQ(up.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the escalation was still held when the local request was answered";

  frontier_.control("/_release", json::object());
  Response escalated = up.get();
  ASSERT_EQ(escalated.status, 200) << escalated.body;
  EXPECT_EQ(escalated.json_body()["decision"]["route"], "frontier") << escalated.body;
}

// A network local tier runs on the I/O threads like an escalation (docs/server.md,
// Threads): with one worker, two routed requests are inside their tier-0 calls at once,
// and both are then decided locally as before.
TEST_F(ServeRelayTest, NetworkLocalTiersHoldNoWorker) {
  ASSERT_NO_FATAL_FAILURE(serve_with_one_worker());
  local_.control("/_fail", {{"mode", "hold"}, {"count", 2}, {"delay_ms", 20000}});
  auto route = [&] {
    return serve_->post("/v1/route", {{"task", "classify_issue"}, {"input", "make: *** [all] Error 2"}});
  };
  auto first = std::async(std::launch::async, route);
  auto second = std::async(std::launch::async, route);
  ASSERT_NO_FATAL_FAILURE(wait_until_held(local_, 2)) << "the second local call waited for the only worker";

  local_.control("/_release", json::object());
  for (auto* f : {&first, &second}) {
    Response r = f->get();
    ASSERT_EQ(r.status, 200) << r.body;
    const json decision = r.json_body()["decision"];
    EXPECT_TRUE(decision.value("local_ran", false)) << r.body;
    ASSERT_EQ(decision["local_tries"].size(), 1u) << r.body;
    EXPECT_EQ(decision["local_tries"][0]["tier"], 0) << r.body;
  }
}

// A model whose backend does not relay (ollama) is passed through on the I/O threads,
// and an ollama frontier escalates there (Router::escalates_async): with one worker, two
// streamed pass-through requests and two escalations are inside their ollama calls at
// once (either kind on the worker would hold one of its pair back), and all are answered
// and audited as before.
TEST_F(ServeRelayTest, OllamaPassThroughAndEscalationHoldNoWorker) {
  std::string policy = fake_tiers_policy_text(frontier_.port, local_.port);
  replace_all(policy, "    backend: anthropic\n", "    backend: ollama\n");
  replace_all(policy, "    model: claude-sonnet-4-5\n", "    model: llama-up\n");
  write_file(dir_ / "policy.yaml", policy);
  ASSERT_NO_FATAL_FAILURE(serve_with_one_worker());
  frontier_.control("/_answer", {{"text", R"({"label":"build"})"}});
  frontier_.control("/_fail", {{"mode", "hold"}, {"count", 4}, {"delay_ms", 20000}});
  auto pass_through = [&] {
    return serve_->post(
        "/v1/chat/completions",
        {{"model", "frontier"}, {"messages", {{{"role", "user"}, {"content", "Label: ld error"}}}}, {"stream", true}});
  };
  auto escalation = [&] {
    return serve_->post("/v1/route",
                        {{"task", "classify_issue"}, {"input", "make: *** [all] Error 2"}, {"force_frontier", true}});
  };
  std::future<Response> passed[] = {std::async(std::launch::async, pass_through),
                                    std::async(std::launch::async, pass_through)};
  std::future<Response> escalated[] = {std::async(std::launch::async, escalation),
                                       std::async(std::launch::async, escalation)};
  ASSERT_NO_FATAL_FAILURE(wait_until_held(frontier_, 4)) << "an ollama call waited for the only worker";
  frontier_.control("/_release", json::object());

  for (auto& f : passed) {
    Response p = f.get();
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(p.header("x-ladder-route"), "pass_through");
    EXPECT_EQ(p.header("x-ladder-model"), "frontier");
    auto events = sse_events(p.body);
    ASSERT_FALSE(events.empty()) << p.body;
    EXPECT_EQ(events.back(), "[DONE]") << p.body;
    EXPECT_EQ(streamed_text(events), R"({"label":"build"})") << p.body;
  }
  for (auto& f : escalated) {
    Response e = f.get();
    ASSERT_EQ(e.status, 200) << e.body;
    EXPECT_EQ(e.json_body()["decision"]["route"], "frontier") << e.body;
    EXPECT_EQ(e.json_body()["answer"]["label"], "build") << e.body;
  }

  auto records = wait_for_records(2);
  ASSERT_EQ(records.size(), 2u);
  for (const auto& record : records) {
    EXPECT_EQ(record["model_name"], "frontier");
    EXPECT_EQ(record["ok"], true);
    EXPECT_GT(record.value("completion_tokens", 0), 0) << record.dump();
  }
}

}  // namespace
}  // namespace ladder::testing
