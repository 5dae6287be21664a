// POST /v1/messages (Anthropic's Messages API) against the real `ladder serve`: relays to a
// model of the anthropic backend (plain and streamed, tool_use included, byte for byte),
// routed ladder/<task> answers in Anthropic's shape, bad input and upstream faults as
// Anthropic's errors. Both tiers on fake_frontier.py processes, no embedded model.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "process.h"
#include "serve_client.h"

namespace ladder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const json kToolCall = {{"id", "toolu_01"}, {"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}};
const json kTools =
    json::array({{{"name", "get_weather"},
                  {"description", "The weather in a city"},
                  {"input_schema", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}});

// The (event, data) pairs of an Anthropic event stream.
std::vector<std::pair<std::string, json>> named_events(const std::string& body) {
  std::vector<std::pair<std::string, json>> out;
  std::istringstream in(body);
  std::string line;
  std::string event;
  while (std::getline(in, line)) {
    if (line.rfind("event: ", 0) == 0) event = line.substr(7);
    if (line.rfind("data: ", 0) == 0) out.emplace_back(event, json::parse(line.substr(6), nullptr, false));
  }
  return out;
}

class ServeMessagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ladder-serve-messages-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ASSERT_GT(local_.port, 0);
    ASSERT_GT(frontier_.port, 0);
    // Local tier `small` (OpenAI-compatible), frontier `claude` (anthropic); task
    // `review` never runs locally. No retries.
    write_file(dir_ / "policy.yaml",
               "version: 1\nmodels:\n  small:\n    backend: openai\n    base_url: http://127.0.0.1:" +
                   std::to_string(local_.port) +
                   "\n    model: small\n    retry: {max_retries: 0}\n  claude:\n    backend: anthropic\n"
                   "    base_url: http://127.0.0.1:" +
                   std::to_string(frontier_.port) +
                   "\n    model: claude-fake-1\n    connect_timeout_ms: 500\n    retry: {max_retries: 0}\n"
                   "tiers:\n  - name: local\n    models: [small]\n  - name: frontier\n    models: [claude]\n"
                   "tasks:\n  review:\n    kind: generate\n    local: false\n");
    write_file(dir_ / "keys.yaml", "alice: " + kAliceKey + "\n");
    serve_ = std::make_unique<Serve>(std::vector<std::string>{"--audit", dir_ / "audit.jsonl", "--health-interval-ms",
                                                              "0", "--api-keys-file", dir_ / "keys.yaml"},
                                     dir_ / "policy.yaml", dir_ / "stderr.log");
    ASSERT_GT(serve_->port, 0) << "ladder serve did not start: " << read_file(dir_ / "stderr.log");
  }
  void TearDown() override {
    serve_.reset();
    fs::remove_all(dir_);
  }

  static json body(const std::string& model, json extra = json::object()) {
    json b = {{"model", model},
              {"max_tokens", 256},
              {"messages", json::array({{{"role", "user"}, {"content", "What is the weather in Paris?"}}})}};
    b.update(extra);
    return b;
  }
  Response post(const json& b) const { return serve_->post("/v1/messages", b); }
  // The audit records, oldest first.
  std::vector<json> audit() const {
    std::vector<json> out;
    std::istringstream in(read_file(dir_ / "audit.jsonl"));
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) out.push_back(json::parse(line));
    return out;
  }
  // What the fake answers to `b` when asked directly (its answer for the upstream id).
  Response direct(json b) const {
    b["model"] = "claude-fake-1";
    return http(frontier_.port, "POST", "/v1/messages", b.dump());
  }
  static void expect_anthropic_error(const Response& r, int status, const std::string& type,
                                     const std::string& message_start = "") {
    EXPECT_EQ(r.status, status) << r.body;
    const json j = r.json_body();
    EXPECT_EQ(j.value("type", ""), "error") << r.body;
    ASSERT_TRUE(j.contains("error") && j["error"].is_object()) << r.body;
    EXPECT_EQ(j["error"].value("type", ""), type) << r.body;
    EXPECT_EQ(j["error"].value("message", "").rfind(message_start, 0), 0u) << r.body;
    EXPECT_FALSE(j["error"].contains("code")) << "Anthropic's shape, not OpenAI's: " << r.body;
  }

  fs::path dir_;
  Fake local_;
  Fake frontier_;
  std::unique_ptr<Serve> serve_;
};

TEST_F(ServeMessagesTest, RelaysAToolUseReplyAsItCame) {
  frontier_.control("/_script", {{"replies", json::array({{{"tool_calls", json::array({kToolCall})}}})}});
  const json request = body("claude", {{"tools", kTools}, {"tool_choice", {{"type", "auto"}}}});
  Response r = post(request);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ladder-route"), "pass_through");
  EXPECT_EQ(r.header("x-ladder-model"), "claude");
  const json reply = r.json_body();
  ASSERT_EQ(reply["content"].size(), 1u) << r.body;
  EXPECT_EQ(reply["content"][0]["type"], "tool_use");
  EXPECT_EQ(reply["content"][0]["id"], "toolu_01");
  EXPECT_EQ(reply["content"][0]["input"], json({{"city", "Paris"}}));
  EXPECT_EQ(reply["stop_reason"], "tool_use");

  // The upstream got the body as sent, its model the upstream id, tools included.
  const json posts = frontier_.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0]["path"], "/v1/messages");
  EXPECT_EQ(posts[0]["body"]["model"], "claude-fake-1");
  EXPECT_EQ(posts[0]["body"]["tools"], kTools);
  EXPECT_EQ(posts[0]["body"]["tool_choice"], json({{"type", "auto"}}));
  EXPECT_EQ(posts[0]["headers"]["anthropic-version"], "2023-06-01");
  // Byte for byte what the upstream answers.
  frontier_.control("/_script", {{"replies", json::array({{{"tool_calls", json::array({kToolCall})}}})}});
  EXPECT_EQ(r.body, direct(request).body);

  const json record = audit().back();
  EXPECT_EQ(record["route"], "pass_through") << record.dump();
  EXPECT_EQ(record["relayed"], true) << record.dump();
  EXPECT_EQ(record["stream"], false) << record.dump();
  EXPECT_EQ(record["delivered"], true) << record.dump();
  EXPECT_EQ(record["tool_calls"], 1) << record.dump();
  EXPECT_EQ(record["finish_reason"], "tool_use") << record.dump();
}

TEST_F(ServeMessagesTest, RelaysAStreamedToolUseLineByLine) {
  frontier_.control("/_script", {{"replies", json::array({{{"tool_calls", json::array({kToolCall})}}})}});
  const json request = body("claude", {{"tools", kTools}, {"stream", true}});
  Response r = post(request);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = named_events(r.body);
  ASSERT_FALSE(events.empty()) << r.body;
  EXPECT_EQ(events.front().first, "message_start");
  EXPECT_EQ(events.back().first, "message_stop");
  std::string partial_json;
  bool saw_tool_use = false;
  for (const auto& [name, data] : events) {
    if (name == "content_block_start" && data["content_block"]["type"] == "tool_use") {
      saw_tool_use = true;
      EXPECT_EQ(data["content_block"]["id"], "toolu_01");
      EXPECT_EQ(data["content_block"]["name"], "get_weather");
    }
    if (name == "content_block_delta" && data["delta"]["type"] == "input_json_delta")
      partial_json += data["delta"]["partial_json"].get<std::string>();
  }
  EXPECT_TRUE(saw_tool_use) << r.body;
  EXPECT_EQ(json::parse(partial_json), json({{"city", "Paris"}}));
  frontier_.control("/_script", {{"replies", json::array({{{"tool_calls", json::array({kToolCall})}}})}});
  EXPECT_EQ(r.body, direct(request).body) << "the stream is relayed byte for byte";

  const json record = audit().back();
  EXPECT_EQ(record["relayed"], true) << record.dump();
  EXPECT_EQ(record["stream"], true) << record.dump();
  EXPECT_EQ(record["delivered"], true) << record.dump();
  EXPECT_EQ(record["tool_calls"], 1) << record.dump();
  EXPECT_EQ(record["finish_reason"], "tool_use") << record.dump();
  EXPECT_GT(record.value("completion_tokens", 0), 0) << record.dump();
}

TEST_F(ServeMessagesTest, RoutedTaskAnswersInAnthropicsShape) {
  frontier_.control("/_answer", {{"text", "the diff looks fine"}});
  Response r = post(body("ladder/review", {{"max_tokens", 77}, {"temperature", 0.5}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ladder-route"), "frontier");
  EXPECT_EQ(r.header("x-ladder-model"), "claude");
  const json m = r.json_body();
  EXPECT_EQ(m["type"], "message");
  EXPECT_EQ(m["role"], "assistant");
  EXPECT_EQ(m["id"].get<std::string>().rfind("msg_", 0), 0u) << r.body;
  EXPECT_EQ(m["model"], "ladder/review");
  EXPECT_EQ(m["content"], json::array({{{"type", "text"}, {"text", "the diff looks fine"}}}));
  EXPECT_EQ(m["stop_reason"], "end_turn");
  EXPECT_GT(m["usage"]["input_tokens"].get<int>(), 0);
  EXPECT_GT(m["usage"]["output_tokens"].get<int>(), 0);
  EXPECT_EQ(m["ladder"]["route"], "frontier");
  EXPECT_EQ(m["ladder"]["task"], "review");
  const json posts = frontier_.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0]["body"]["max_tokens"], 77) << "max_tokens passed on";
  EXPECT_EQ(posts[0]["body"]["temperature"], 0.5) << "temperature passed on";
  EXPECT_NE(posts[0]["body"].dump().find("What is the weather in Paris?"), std::string::npos);

  frontier_.control("/_answer", {{"text", "alpha beta gamma delta"}});
  Response s = post(body("ladder/review", {{"stream", true}}));
  ASSERT_EQ(s.status, 200) << s.body;
  auto events = named_events(s.body);
  std::vector<std::string> names;
  std::string text;
  for (const auto& [name, data] : events) {
    if (names.empty() || names.back() != name) names.push_back(name);
    EXPECT_EQ(data.value("type", ""), name) << s.body;
    if (name == "content_block_delta") text += data["delta"]["text"].get<std::string>();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                             "content_block_stop", "message_delta", "message_stop"}))
      << s.body;
  EXPECT_EQ(text, "alpha beta gamma delta");
  EXPECT_EQ(events[0].second["message"]["role"], "assistant");
  const json& delta = events[events.size() - 2].second;
  EXPECT_EQ(delta["delta"]["stop_reason"], "end_turn") << s.body;
  EXPECT_EQ(delta["ladder"]["route"], "frontier") << s.body;
}

TEST_F(ServeMessagesTest, BadInputIsAnInvalidRequestError) {
  Response malformed = http(serve_->port, "POST", "/v1/messages",
                            "{\"model\": ", {{"x-api-key", kAliceKey}, {"anthropic-version", "2023-06-01"}});
  expect_anthropic_error(malformed, 400, "invalid_request_error", "request body is not valid JSON");

  const json user_turn = {{"role", "user"}, {"content", "hi"}};
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"model", "claude"}, {"messages", json::array({user_turn})}}, "max_tokens: required"},
      {body("claude", {{"max_tokens", 0}}), "max_tokens: expected a positive integer"},
      {body("claude", {{"max_tokens", "many"}}), "max_tokens: "},
      {body("claude", {{"model", 7}}), "model: "},
      {body("claude", {{"messages", json::array()}}), "messages: "},
      {body("claude", {{"messages", json::array({{{"role", "system"}, {"content", "x"}}})}}), "messages[0].role: "},
      {body("claude", {{"messages", json::array({{{"role", "user"}, {"content", 5}}})}}), "messages[0].content: "},
      {body("claude", {{"messages",
                        json::array({{{"role", "user"},
                                      {"content", json::array({{{"type", "tool_result"}, {"content", "sunny"}}})}}})}}),
       "messages[0].content[0].tool_use_id: "},
      {body("claude",
            {{"messages", json::array({{{"role", "user"}, {"content", json::array({{{"type", "hologram"}}})}}})}}),
       "messages[0].content[0].type: unknown content block type 'hologram'"},
      {body("claude", {{"messages", json::array({user_turn,
                                                 {{"role", "assistant"},
                                                  {"content", json::array({{{"type", "tool_use"},
                                                                            {"id", "toolu_1"},
                                                                            {"name", "f"},
                                                                            {"input", "not an object"}}})}}})}}),
       "messages[1].content[0].input: "},
      {body("claude", {{"system", 3}}), "system: "},
      {body("claude", {{"temperature", 1.5}}), "temperature: expected a number from 0 to 1"},
      {body("claude", {{"stream", "yes"}}), "stream: "},
      {body("claude", {{"top_k", -1}}), "top_k: "},
      {body("claude", {{"stop_sequences", json::array({1})}}), "stop_sequences: "},
      {body("claude", {{"tools", json::array({{{"name", "f"}}})}}), "tools[0].input_schema: "},
      {body("claude", {{"tools", {{"name", "f"}}}}), "tools: "},
      {body("claude", {{"tool_choice", {{"type", "sometimes"}}}}), "tool_choice: "},
      {body("claude", {{"tool_choice", {{"type", "tool"}}}}), "tool_choice.name: "},
      {body("claude", {{"metadata", {{"user_id", 42}}}}), "metadata.user_id: "},
  };
  for (const auto& [b, message] : cases) {
    SCOPED_TRACE(b.dump());
    expect_anthropic_error(post(b), 400, "invalid_request_error", message);
  }
  EXPECT_TRUE(frontier_.posts().empty()) << "nothing invalid reaches the upstream";

  // Models: unknown, of another backend, a block a ladder task cannot read.
  expect_anthropic_error(post(body("no-such-model")), 404, "not_found_error", "model: model 'no-such-model'");
  Response other = post(body("small"));
  expect_anthropic_error(other, 400, "invalid_request_error", "model: model 'small' is served by the openai backend");
  expect_anthropic_error(
      post(body(
          "ladder/review",
          {{"messages",
            json::array({{{"role", "user"},
                          {"content", json::array({{{"type", "image"},
                                                    {"source", {{"type", "url"}, {"url", "http://x/y.png"}}}}})}}})}})),
      400, "invalid_request_error", "messages[0].content[0]: a ladder task reads");
  // Authentication in Anthropic's shape too.
  expect_anthropic_error(http(serve_->port, "POST", "/v1/messages", body("claude").dump(), {{"x-api-key", "sk-wrong"}}),
                         401, "authentication_error");
  EXPECT_TRUE(frontier_.posts().empty());
}

TEST_F(ServeMessagesTest, RateLimitIs429WithRetryAfter) {
  for (const std::string model : {"claude", "ladder/review"}) {
    for (const bool stream : {false, true}) {
      SCOPED_TRACE(model + (stream ? " streamed" : " plain"));
      frontier_.control("/_fail", {{"mode", "429"}, {"count", 1}, {"retry_after", 30}});
      Response r = post(body(model, {{"stream", stream}}));
      expect_anthropic_error(r, 429, "rate_limit_error");
      EXPECT_EQ(r.header("retry-after"), "30");
    }
  }
}

TEST_F(ServeMessagesTest, StreamCutDuringAToolCallEndsWithAnErrorEvent) {
  frontier_.control("/_script", {{"replies", json::array({{{"tool_calls", json::array({kToolCall})}}})}});
  frontier_.control("/_fail", {{"mode", "stream_cut"}, {"count", 1}, {"after_chunks", 2}});
  Response r = post(body("claude", {{"tools", kTools}, {"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = named_events(r.body);
  ASSERT_GE(events.size(), 2u) << r.body;
  EXPECT_EQ(events.front().first, "message_start");
  EXPECT_EQ(events.back().first, "error") << r.body;
  EXPECT_EQ(events.back().second["type"], "error") << r.body;
  EXPECT_TRUE(events.back().second["error"].contains("type")) << r.body;
  for (const auto& [name, data] : events) EXPECT_NE(name, "message_stop") << r.body;

  const json record = audit().back();
  EXPECT_EQ(record["relayed"], true) << record.dump();
  EXPECT_EQ(record["delivered"], false) << record.dump();
  EXPECT_EQ(record["mid_stream"], true) << record.dump();
}

}  // namespace
}  // namespace ladder::testing
