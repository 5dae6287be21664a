// The model endpoints: POST /v1/chat/completions (OpenAI-compatible, plain or
// streamed), POST /v1/route (native) and POST /v1/run (macros).
#include "server/endpoints.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "router/decision_json.h"
#include "server/errors.h"
#include "server/openai_api.h"
#include "server/sse.h"

namespace ladder::server {
namespace {

using nlohmann::json;

void add_decision_headers(Reply& r, const Decision& d) {
  for (auto& h : decision_headers(d)) r.headers.push_back(std::move(h));
}

// Writes a whole reply; its status and whether the connection stays open.
Task<std::pair<int, bool>> send_reply(ServerContext& ctx, Connection& conn, const Request& req, Reply r) {
  const int code = r.status;
  co_return std::pair{code, co_await send(conn, req, std::move(r), ctx.closing())};
}

}  // namespace

std::vector<std::pair<std::string, std::string>> decision_headers(const Decision& d) {
  std::vector<std::pair<std::string, std::string>> h = {{"x-ladder-request-id", d.request_id},
                                                        {"x-ladder-route", d.route}};
  if (d.reason) h.emplace_back("x-ladder-reason", std::string(reason_name(*d.reason)));
  for (auto it = d.tiers.rbegin(); it != d.tiers.rend(); ++it)
    if (it->ok) {
      h.emplace_back("x-ladder-tier", it->tier_name);
      h.emplace_back("x-ladder-model", it->model_name);
      break;
    }
  return h;
}

Task<Reply> native_route(ServerContext& ctx, const Request& req, const ClientIdentity& client) {
  std::string param;
  auto parsed = parse_route_request(req.body(), &param);
  if (!parsed.ok()) co_return error_reply(parsed.status(), param);
  std::shared_ptr<Router> router = ctx.gw.router();  // this request's one snapshot
  if (Status s = admit_task(router->config(), parsed->task); !s.ok()) co_return error_reply(s, "task");
  auto job = make_job(co_await asio::this_coro::executor);
  RouteRequest rr;
  rr.task = parsed->task;
  rr.input = std::move(parsed->input);
  rr.options = parsed->options;
  rr.request_id = new_request_id();
  if (!ctx.route(job, router, std::move(rr), client)) co_return ctx.queue_full();
  co_await job->wait_done();
  if (job->crashed) co_return error_reply(*job->crashed);
  const auto& outcome = *job->routed;
  if (!outcome.ok()) co_return error_reply(outcome.status(), "input");
  const Decision& d = outcome->decision;
  Reply r = json_reply(
      200,
      {{"answer", d.answer}, {"answer_text", d.answer_text}, {"decision", decision_to_json(d, ErrorDetail::kPublic)}});
  add_decision_headers(r, d);
  co_return r;
}

Task<Reply> run_macro(ServerContext& ctx, const Request& req, const ClientIdentity& client) {
  if (!ctx.opt.run_handler)
    co_return error_reply(make_error(ErrorCode::kNotImplemented, "/v1/run is not wired in this build of ladder"));
  auto body = parse_json_object(req.body());
  if (!body.ok()) co_return error_reply(body.status());
  auto job = make_job(co_await asio::this_coro::executor);
  if (!ctx.submit(
          job, [&ctx, job, body = std::move(body).value(), client] { job->value = ctx.opt.run_handler(body, client); }))
    co_return ctx.queue_full();
  co_await job->wait_done();
  if (job->crashed) co_return error_reply(*job->crashed);
  if (!job->value->ok()) co_return error_reply(job->value->status());
  co_return json_reply(200, job->value->value());
}

Task<std::pair<int, bool>> chat_completions(ServerContext& ctx, Connection& conn, const Request& req,
                                            const ClientIdentity& client, Clock::time_point t0) {
  std::string param;
  auto parsed = parse_chat_request(req.body(), &param);
  if (!parsed.ok()) {
    co_return co_await send_reply(ctx, conn, req, error_reply(parsed.status(), param));
  }
  ChatCompletionRequest chat = std::move(parsed).value();
  std::shared_ptr<Router> router = ctx.gw.router();  // this request's one snapshot
  const std::string request_id = new_request_id();
  ChatAnswer base;
  base.id = "chatcmpl-" + request_id;
  base.created = unix_now();
  base.model = chat.model;

  auto target = select_target(*router, chat);
  if (!target.ok()) {
    co_return co_await send_reply(ctx, conn, req, error_reply(target.status(), "model"));
  }
  const bool routed = target->routed;
  const std::string model_name = target->model_name;
  const bool model_names_task = task_from_model(chat.model).has_value();
  if (routed && (model_names_task || chat.task)) {  // a task the client named (not the classifier's)
    if (Status s = admit_task(router->config(), target->task); !s.ok())
      co_return co_await send_reply(ctx, conn, req, error_reply(s, model_names_task ? "model" : "ladder.task"));
  }

  // What the client says about itself goes to the audit record (scrubbed there).
  json audit_fields = json::object();
  if (chat.user) audit_fields["user"] = *chat.user;
  if (!chat.metadata.is_null()) audit_fields["metadata"] = chat.metadata;

  if (!routed && router->forwards(model_name, WireApi::kOpenAiChat)) {
    // A named value, not a temporary in the co_await (g++ 12 destroys those twice).
    RelayedRequest relayed{WireApi::kOpenAiChat, &kOpenAiErrors,       router,
                           model_name,           std::move(chat.body), std::move(audit_fields)};
    co_return co_await relay_request(ctx, conn, req, client, relayed);
  }
  if (!chat.relay_field.empty()) {
    // Tools, response formats and non-text parts reach only an upstream that takes the
    // request as it is; a ladder task or another API's backend would drop them silently.
    const std::string why =
        routed ? "a ladder task reads the conversation's text only: send this field to a configured model"
               : "model '" + model_name + "' is served by the " + router->config().models.at(model_name).backend +
                     " backend, and ladder relays this field only to OpenAI-compatible backends";
    if (!routed || chat.relay_field.find(".content") != std::string::npos)
      co_return co_await send_reply(
          ctx, conn, req,
          error_reply(make_error(ErrorCode::kInvalidArgument, chat.relay_field + ": " + why), chat.relay_field));
  }

  auto job = make_job(co_await asio::this_coro::executor);
  DeltaFn on_delta;
  if (chat.stream)
    on_delta = [job](std::string_view d) {
      if (job->cancelled.load()) return false;
      job->push(std::string(d));
      return true;
    };
  bool accepted;
  if (routed) {
    RouteRequest rr;
    rr.task = target->task;
    rr.input = std::move(target->input);
    rr.request_id = request_id;
    rr.options = chat.options;
    rr.max_tokens = chat.max_tokens;
    rr.temperature = chat.temperature;
    rr.on_delta = on_delta;
    rr.inter_token_timeout = ctx.opt.inter_token_timeout;
    rr.audit_fields = audit_fields;
    accepted = ctx.route(job, router, std::move(rr), client);
  } else {
    GenerationRequest g;
    g.messages = chat.messages;
    g.max_tokens = chat.max_tokens.value_or(1024);
    g.temperature = chat.temperature.value_or(0.0);
    g.want_logprobs = false;
    g.timeout = std::chrono::milliseconds(router->config().models.at(model_name).request_timeout_ms);
    g.inter_token_timeout = ctx.opt.inter_token_timeout;
    // On the I/O thread when the backend generates on an event loop (network models),
    // else on a worker (the embedded model), as relay_request() does.
    accepted = false;
    if (ctx.upstream != nullptr) {
      auto finish = [job](Result<PassThroughOutcome> passed) {
        job->passed = std::move(passed);
        job->finish();
      };
      try {
        accepted = ctx.gw.pass_through_async(router, model_name, g, on_delta, request_id, client, audit_fields,
                                             *ctx.upstream, std::move(finish));
      } catch (const std::exception& e) {
        job->crash(e.what());
        job->finish();
        accepted = true;
      }
    }
    if (!accepted)
      accepted = ctx.submit(
          job, [&ctx, job, router, g = std::move(g), on_delta, model_name, request_id, client, audit_fields] {
            job->passed = ctx.gw.pass_through(router, model_name, g, on_delta ? &on_delta : nullptr, request_id, client,
                                              audit_fields);
          });
  }
  if (!accepted) co_return co_await send_reply(ctx, conn, req, ctx.queue_full());

  // ---- wait, streaming deltas as they come -------------------------------------------
  JobStream stream_out(req.version());
  std::vector<std::pair<std::string, std::string>> stream_headers = {
      {"x-ladder-request-id", request_id}, {"x-ladder-route", routed ? "frontier" : "pass_through"}};
  if (!routed) stream_headers.emplace_back("x-ladder-model", model_name);
  const std::string opening = sse_event(chat_chunk_json(base, "", true, std::nullopt));
  const PieceFormat as_chunk = [&base](const std::string& d) {
    return sse_event(chat_chunk_json(base, d, false, std::nullopt));
  };
  co_await stream_job(conn, req, *job, stream_out, stream_headers, opening, as_chunk);
  auto& head = stream_out.head;
  auto& serializer = stream_out.serializer;
  bool headers_sent = stream_out.headers_sent;
  bool client_ok = stream_out.client_ok;

  // ---- the outcome ---------------------------------------------------------------------
  std::optional<Status> failure;
  std::string text;
  json ladder;
  double backend_ms = 0.0;
  Reply reply;
  if (job->crashed) {
    failure = *job->crashed;
  } else if (routed) {
    const auto& outcome = *job->routed;
    if (!outcome.ok()) {
      failure = outcome.status();
    } else {
      const Decision& d = outcome->decision;
      backend_ms = outcome->backend_ms;
      failure = decision_failure(d);
      text = d.answer_text;
      ladder = decision_extension(d);
      add_decision_headers(reply, d);
      for (auto it = d.tiers.rbegin(); it != d.tiers.rend(); ++it)
        if (it->ok) {  // usage of the call that answered
          base.prompt_tokens = it->prompt_tokens;
          base.completion_tokens = it->completion_tokens;
          break;
        }
      if (chat.stream) {
        for (const auto& t : d.tiers)
          if (t.tier > 0 && !t.ok && t.skipped == AttemptSkip::kNone && d.frontier_ok)
            ctx.gw.metrics().add("ladder_stream_failures_total", {{"class", "before_first_token"}});
      }
    }
  } else {
    const auto& outcome = *job->passed;
    if (!outcome.ok()) {
      failure = outcome.status();
      if (headers_sent) ctx.gw.metrics().add("ladder_stream_failures_total", {{"class", "mid_stream"}});
    } else {
      text = outcome->result.text;
      backend_ms = outcome->result.latency_ms;
      base.prompt_tokens = outcome->result.prompt_tokens;
      base.completion_tokens = outcome->result.completion_tokens;
      if (!outcome->result.finish_reason.empty() && outcome->result.finish_reason != "cancelled")
        base.finish_reason = outcome->result.finish_reason == "length" ? "length" : "stop";
    }
    ladder = {{"request_id", request_id}, {"route", "pass_through"}, {"model", model_name}};
    reply.headers.emplace_back("x-ladder-request-id", request_id);
    reply.headers.emplace_back("x-ladder-route", "pass_through");
    reply.headers.emplace_back("x-ladder-model", model_name);
  }
  if (failure && failure->code() == ErrorCode::kTimeout && chat.stream)
    ctx.gw.metrics().add("ladder_stream_failures_total", {{"class", "inter_token_timeout"}});
  ctx.gw.metrics().observe("ladder_gateway_overhead_seconds", {},
                           std::max(0.0, seconds_since(t0) - backend_ms / 1000.0));

  if (!headers_sent) {
    if (failure) {
      Reply r = error_reply(*failure);
      for (auto& h : reply.headers) r.headers.push_back(h);
      co_return co_await send_reply(ctx, conn, req, std::move(r));
    }
    if (!chat.stream) {
      base.text = text;
      base.ladder = ladder;
      reply.status = 200;
      reply.body = dump(chat_completion_json(base));
      co_return co_await send_reply(ctx, conn, req, std::move(reply));
    }
    // A stream whose answer came whole (a validated local answer): one content delta.
    head.set(http::field::server, "ladder");
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    for (const auto& [k, v] : reply.headers) head.set(k, v);
    head.chunked(true);
    head.keep_alive(req.keep_alive() && !ctx.closing());
    if (!co_await write_header(conn, serializer)) co_return std::pair{200, false};
    headers_sent = true;
    std::string out = sse_event(chat_chunk_json(base, "", true, std::nullopt));
    if (!text.empty()) out += sse_event(chat_chunk_json(base, text, false, std::nullopt));
    client_ok = co_await write_chunk(conn, std::move(out));
  }
  if (!client_ok) co_return std::pair{200, false};
  if (failure) {
    // Mid-stream: part of the answer is with the client. End with an error event, no [DONE].
    ApiError e = make_api_error(*failure);
    co_await write_chunk(conn, sse_event(e.body));
    co_await end_chunks(conn);
    co_return std::pair{200, false};
  }
  std::string out = sse_event(chat_chunk_json(base, std::nullopt, false, base.finish_reason, ladder));
  if (chat.include_usage) out += sse_event(usage_chunk_json(base));
  out += kSseDone;
  client_ok = co_await write_chunk(conn, std::move(out));
  if (client_ok) client_ok = co_await end_chunks(conn);
  co_return std::pair{200, client_ok && req.keep_alive() && !ctx.closing()};
}

}  // namespace ladder::server
