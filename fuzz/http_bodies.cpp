// The request bodies of `ladder serve` (src/server/openai_api.cpp, anthropic_api.cpp,
// run_api.cpp): every input is parsed as the body of POST /v1/chat/completions,
// /v1/messages, /v1/route, /v1/run, /admin/kill-switch and /admin/shadow. A refused body
// must become an error reply in its API's shape (OpenAI's, or Anthropic's for
// /v1/messages) that is itself valid JSON.
#include <string>

#include "fuzz_support.h"
#include "server/anthropic_api.h"
#include "server/errors.h"
#include "server/http_io.h"
#include "server/openai_api.h"
#include "server/run_api.h"

namespace {

using ladder::ErrorCode;
using ladder::Status;

// The error funnel's reply for a refused body: a 4xx whose body parses back as
// {"error": {"message", "type", "param", "code"}}.
void check_refusal(const Status& status, const std::string& param) {
  const ErrorCode code = status.code();
  LADDER_FUZZ_CHECK(code == ErrorCode::kParseError || code == ErrorCode::kInvalidArgument);
  auto reply = ladder::server::error_reply(status, param);
  LADDER_FUZZ_CHECK(reply.status == 400);
  auto body = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  LADDER_FUZZ_CHECK(body.is_object() && body.contains("error") && body["error"]["message"].is_string());
}

// The same for /v1/messages: {"type": "error", "error": {"type", "message"}}.
void check_messages_refusal(const Status& status, const std::string& param) {
  const ErrorCode code = status.code();
  LADDER_FUZZ_CHECK(code == ErrorCode::kParseError || code == ErrorCode::kInvalidArgument);
  auto error = ladder::server::kAnthropicErrors.error(status, param, std::nullopt);
  auto reply = ladder::server::api_error_reply(error);
  LADDER_FUZZ_CHECK(reply.status == 400);
  auto body = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  LADDER_FUZZ_CHECK(body.is_object() && body["type"] == "error" && body["error"]["type"] == "invalid_request_error" &&
                    body["error"]["message"].is_string());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace server = ladder::server;
  const std::string_view body = ladder::fuzz::as_text(data, size);

  std::string param;
  if (auto chat = server::parse_chat_request(body, &param); chat.ok()) {
    LADDER_FUZZ_CHECK(!chat->model.empty() && !chat->messages.empty());
    (void)server::routed_input(*chat);
    (void)server::task_from_model(chat->model);
  } else {
    check_refusal(chat.status(), param);
  }

  param.clear();
  if (auto messages = server::parse_messages_request(body, &param); messages.ok()) {
    LADDER_FUZZ_CHECK(!messages->model.empty() && messages->max_tokens > 0 && messages->body.is_object());
    (void)messages->body.dump();  // the relayed body stays valid JSON text
  } else {
    check_messages_refusal(messages.status(), param);
  }

  param.clear();
  if (auto route = server::parse_route_request(body, &param); route.ok()) {
    LADDER_FUZZ_CHECK(!route->task.empty());
  } else {
    check_refusal(route.status(), param);
  }

  if (auto object = server::parse_json_object(body); object.ok()) {
    if (auto run = server::parse_run_request(*object); run.ok()) {
      LADDER_FUZZ_CHECK(run->request.empty() != run->macro.empty());
      LADDER_FUZZ_CHECK(run->args.is_object());
    } else {
      check_refusal(run.status(), {});
    }
  } else {
    check_refusal(object.status(), {});
  }

  param.clear();
  if (auto kill = server::parse_kill_switch_request(body, &param); !kill.ok()) check_refusal(kill.status(), param);
  param.clear();
  if (auto shadow = server::parse_shadow_request(body, &param); !shadow.ok()) check_refusal(shadow.status(), param);
  return 0;
}
