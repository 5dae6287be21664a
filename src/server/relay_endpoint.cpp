// A request relayed to a configured model whose backend speaks the request's API
// (pass-through with every field kept): an OpenAI chat request to an OpenAI-compatible
// backend, an Anthropic Messages request to the anthropic backend. The client's body goes
// out as it came (ladder's extension fields removed, `model` set to the upstream id), and
// the upstream's reply comes back byte for byte, whole or streamed line by line, tool
// calls included. What ladder adds is its headers (x-ladder-request-id, -route, -model),
// the audit record, and its own failures in the endpoint's error shape.
#include <algorithm>
#include <memory>
#include <string>

#include "server/endpoints.h"
#include "server/errors.h"
#include "server/sse.h"

namespace ladder::server {

Task<std::pair<int, bool>> relay_request(ServerContext& ctx, Connection& conn, const Request& req,
                                         const ClientIdentity& client, RelayedRequest& relayed) {
  const std::string request_id = new_request_id();
  const ModelConfig& model = relayed.router->config().models.at(relayed.model_name);
  const ErrorFormat& errors = *relayed.errors;
  auto error_of = [&errors](const Status& s) { return api_error_reply(errors.error(s, {}, std::nullopt)); };
  ForwardRequest fr;
  fr.api = relayed.api;
  fr.body = std::move(relayed.body);
  fr.timeout = std::chrono::milliseconds(model.request_timeout_ms);
  fr.inter_token_timeout = ctx.opt.inter_token_timeout;
  const bool stream = fr.streams();

  auto job = make_job(co_await asio::this_coro::executor);
  ChunkFn on_chunk = [job](std::string_view bytes) {
    if (job->cancelled.load()) return false;
    job->push(std::string(bytes));
    return true;
  };
  // On the I/O thread when the backend relays on an event loop (network upstreams), else
  // on a worker. Either way the job carries the lines and the result to this coroutine.
  bool accepted = false;
  if (ctx.upstream != nullptr) {
    auto finish = [job](Result<ForwardReply> result) {
      job->relayed = std::move(result);
      job->finish();
    };
    try {
      accepted = ctx.gw.relay_async(relayed.router, relayed.model_name, fr, on_chunk, request_id, client,
                                    relayed.audit_fields, *ctx.upstream, std::move(finish));
    } catch (const std::exception& e) {
      job->crash(e.what());
      job->finish();
      accepted = true;
    }
  }
  if (!accepted) {
    accepted = ctx.submit(job, [&ctx, job, relayed, fr = std::move(fr), on_chunk, request_id, client] {
      job->relayed =
          ctx.gw.relay(relayed.router, relayed.model_name, fr, on_chunk, request_id, client, relayed.audit_fields);
    });
  }
  std::vector<std::pair<std::string, std::string>> ladder_headers = {
      {"x-ladder-request-id", request_id}, {"x-ladder-route", "pass_through"}, {"x-ladder-model", relayed.model_name}};
  if (!accepted) {
    Reply r = ctx.queue_full(errors);
    co_return std::pair{r.status, co_await send(conn, req, std::move(r), ctx.closing())};
  }

  // ---- a stream: the upstream's lines as they come ------------------------------------
  JobStream stream_out(req.version());
  const std::string no_opening;
  const PieceFormat as_is = [](const std::string& line) { return line; };
  co_await stream_job(conn, req, *job, stream_out, ladder_headers, no_opening, as_is);
  const bool headers_sent = stream_out.headers_sent;
  bool client_ok = stream_out.client_ok;

  // ---- the outcome ---------------------------------------------------------------------
  std::optional<Status> failure;
  if (job->crashed) {
    failure = *job->crashed;
  } else if (!job->relayed->ok()) {
    failure = job->relayed->status();
  }
  if (!headers_sent) {
    Reply r;
    if (failure) {
      r = error_of(*failure);
    } else {
      // A whole reply, or a client error the upstream answered (a stream that never began).
      ForwardReply& reply = job->relayed->value();
      r.status = reply.status;
      r.content_type = reply.content_type.empty() ? "application/json" : reply.content_type;
      r.body = std::move(reply.body);
      if (stream && reply.status >= 200 && reply.status <= 299 && r.body.empty()) {
        // The upstream ended a 2xx stream before its first line: nothing to relay.
        r = error_of(make_error(ErrorCode::kBadResponse, "model '" + relayed.model_name + "' sent an empty stream"));
      }
    }
    for (auto& h : ladder_headers) r.headers.push_back(h);
    const int code = r.status;
    co_return std::pair{code, co_await send(conn, req, std::move(r), ctx.closing())};
  }
  if (!client_ok) co_return std::pair{200, false};
  if (failure) {
    // Mid-stream: part of the reply is with the client. End with an error event and no
    // terminator ([DONE], message_stop).
    ctx.gw.metrics().add("ladder_stream_failures_total",
                         {{"class", failure->code() == ErrorCode::kTimeout ? "inter_token_timeout" : "mid_stream"}});
    co_await write_chunk(conn, errors.stream_event(errors.error(*failure, {}, std::nullopt)));
    co_await end_chunks(conn);
    co_return std::pair{200, false};
  }
  client_ok = co_await end_chunks(conn);
  co_return std::pair{200, client_ok && req.keep_alive() && !ctx.closing()};
}

}  // namespace ladder::server
