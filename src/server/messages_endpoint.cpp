// POST /v1/messages: Anthropic's Messages API, for agents built on Anthropic's SDKs.
// Model "ladder/<task>" or "ladder/auto" is routed like a chat completion (the task's
// input the last user turn's text, max_tokens and temperature passed on) and answered in
// Anthropic's Message shape, plain or as its streamed events. A configured model of the
// anthropic backend is relayed as it is (relay_endpoint.cpp); one of another backend is
// refused. Every failure is in Anthropic's error shape.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "server/anthropic_api.h"
#include "server/endpoints.h"
#include "server/errors.h"
#include "server/openai_api.h"

namespace ladder::server {
namespace {

using nlohmann::json;

Reply anthropic_error_reply(const Status& s, std::string_view param = {}) {
  return api_error_reply(make_anthropic_error(s, param));
}

Task<std::pair<int, bool>> send_whole(ServerContext& ctx, Connection& conn, const Request& req, Reply r) {
  const int code = r.status;
  co_return std::pair{code, co_await send(conn, req, std::move(r), ctx.closing())};
}

}  // namespace

Task<std::pair<int, bool>> messages(ServerContext& ctx, Connection& conn, const Request& req,
                                    const ClientIdentity& client, Clock::time_point t0) {
  std::string param;
  auto parsed = parse_messages_request(req.body(), &param);
  if (!parsed.ok()) co_return co_await send_whole(ctx, conn, req, anthropic_error_reply(parsed.status()));
  MessagesRequest msg = std::move(parsed).value();
  std::shared_ptr<Router> router = ctx.gw.router();  // this request's one snapshot

  // The same target rule as chat completions: ladder/ names route, others name a model.
  ChatCompletionRequest view;
  view.model = msg.model;
  view.messages = msg.messages;
  view.task = msg.task;
  auto target = select_target(*router, view);
  if (!target.ok()) co_return co_await send_whole(ctx, conn, req, anthropic_error_reply(target.status(), "model"));

  json audit_fields = json::object();
  if (msg.user_id) audit_fields["user"] = *msg.user_id;
  if (!target->routed) {
    const std::string& backend = router->config().models.at(target->model_name).backend;
    if (backend != "anthropic")
      co_return co_await send_whole(
          ctx, conn, req,
          anthropic_error_reply(make_error(ErrorCode::kInvalidArgument,
                                           "model: model '" + target->model_name + "' is served by the " + backend +
                                               " backend, and /v1/messages relays only to models of the anthropic "
                                               "backend (send it to /v1/chat/completions)")));
    // A named value, not a temporary in the co_await (g++ 12 destroys those twice).
    RelayedRequest relayed{WireApi::kAnthropicMessages, &kAnthropicErrors,   router,
                           target->model_name,          std::move(msg.body), std::move(audit_fields)};
    co_return co_await relay_request(ctx, conn, req, client, relayed);
  }
  if (task_from_model(msg.model) || msg.task) {  // a task the client named (not the classifier's)
    if (Status s = admit_task(router->config(), target->task); !s.ok())
      co_return co_await send_whole(ctx, conn, req, anthropic_error_reply(s));
  }
  if (!msg.relay_field.empty())
    co_return co_await send_whole(
        ctx, conn, req,
        anthropic_error_reply(make_error(ErrorCode::kInvalidArgument,
                                         msg.relay_field +
                                             ": a ladder task reads the conversation's text only: send this block "
                                             "to a configured model of the anthropic backend")));

  const std::string request_id = new_request_id();
  MessageAnswer answer;
  answer.id = "msg_" + request_id.substr(request_id.find('_') + 1);
  answer.model = msg.model;

  auto job = make_job(co_await asio::this_coro::executor);
  RouteRequest rr;
  rr.task = target->task;
  rr.input = std::move(target->input);
  rr.request_id = request_id;
  rr.options = msg.options;
  rr.max_tokens = msg.max_tokens;
  rr.temperature = msg.temperature;
  if (msg.stream)
    rr.on_delta = [job](std::string_view d) {
      if (job->cancelled.load()) return false;
      job->push(std::string(d));
      return true;
    };
  rr.inter_token_timeout = ctx.opt.inter_token_timeout;
  rr.audit_fields = audit_fields;
  if (!ctx.route(job, router, std::move(rr), client))
    co_return co_await send_whole(ctx, conn, req, ctx.queue_full(kAnthropicErrors));

  // ---- wait, streaming deltas as they come (a frontier's stream) ---------------------
  JobStream stream_out(req.version());
  const std::vector<std::pair<std::string, std::string>> stream_headers = {{"x-ladder-request-id", request_id},
                                                                           {"x-ladder-route", "frontier"}};
  const std::string opening = message_stream_start(answer);
  const PieceFormat as_delta = [](const std::string& d) { return message_stream_delta(d); };
  co_await stream_job(conn, req, *job, stream_out, stream_headers, opening, as_delta);
  auto& head = stream_out.head;
  auto& serializer = stream_out.serializer;
  bool headers_sent = stream_out.headers_sent;
  bool client_ok = stream_out.client_ok;

  // ---- the outcome ---------------------------------------------------------------------
  std::optional<Status> failure;
  std::vector<std::pair<std::string, std::string>> headers = {{"x-ladder-request-id", request_id}};
  double backend_ms = 0.0;
  if (job->crashed) {
    failure = *job->crashed;
  } else if (!job->routed->ok()) {
    failure = job->routed->status();
  } else {
    const Decision& d = (*job->routed)->decision;
    backend_ms = (*job->routed)->backend_ms;
    failure = decision_failure(d);
    headers = decision_headers(d);
    answer.text = d.answer_text;
    answer.ladder = decision_extension(d);
    for (auto it = d.tiers.rbegin(); it != d.tiers.rend(); ++it)
      if (it->ok) {  // usage of the call that answered
        answer.input_tokens = it->prompt_tokens;
        answer.output_tokens = it->completion_tokens;
        break;
      }
    // A ladder decision carries no finish reason: a call that used its whole budget stopped for it.
    if (answer.output_tokens >= msg.max_tokens) answer.stop_reason = "max_tokens";
  }
  if (failure && msg.stream)
    ctx.gw.metrics().add("ladder_stream_failures_total",
                         {{"class", failure->code() == ErrorCode::kTimeout ? "inter_token_timeout"
                                    : headers_sent                         ? "mid_stream"
                                                                           : "before_first_token"}});
  ctx.gw.metrics().observe("ladder_gateway_overhead_seconds", {},
                           std::max(0.0, seconds_since(t0) - backend_ms / 1000.0));

  if (!headers_sent) {
    if (failure) {
      Reply r = anthropic_error_reply(*failure);
      for (auto& h : headers) r.headers.push_back(h);
      co_return co_await send_whole(ctx, conn, req, std::move(r));
    }
    if (!msg.stream) {
      Reply r = json_reply(200, message_json(answer));
      r.headers = std::move(headers);
      co_return co_await send_whole(ctx, conn, req, std::move(r));
    }
    // A stream whose answer came whole (a validated local answer): one text delta.
    event_stream_head(head, headers, req.keep_alive() && !ctx.closing());
    if (!co_await write_header(conn, serializer)) co_return std::pair{200, false};
    std::string out = message_stream_start(answer);
    if (!answer.text.empty()) out += message_stream_delta(answer.text);
    client_ok = co_await write_chunk(conn, std::move(out));
  }
  if (!client_ok) co_return std::pair{200, false};
  if (failure) {
    // Mid-stream: part of the answer is with the client. End with an error event, no message_stop.
    co_await write_chunk(conn, kAnthropicErrors.stream_event(make_anthropic_error(*failure)));
    co_await end_chunks(conn);
    co_return std::pair{200, false};
  }
  client_ok = co_await write_chunk(conn, message_stream_end(answer));
  if (client_ok) client_ok = co_await end_chunks(conn);
  co_return std::pair{200, client_ok && req.keep_alive() && !ctx.closing()};
}

}  // namespace ladder::server
