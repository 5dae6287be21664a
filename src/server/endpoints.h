// The endpoint handlers of `ladder serve`, each a coroutine on the connection's
// executor; model calls go to a worker through the context (worker_bridge.h).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "server/auth.h"
#include "server/http_io.h"
#include "server/worker_bridge.h"

namespace ladder::server {

// POST /v1/chat/completions, plain or streamed; writes its own reply. Returns the
// status sent and whether to keep the connection.
Task<std::pair<int, bool>> chat_completions(ServerContext& ctx, Connection& conn, const Request& req,
                                            const ClientIdentity& client, Clock::time_point t0);
// A chat request for a configured model whose backend relays OpenAI's API.
struct RelayedChat {
  std::shared_ptr<Router> router;  // the request's one snapshot
  std::string model_name;          // the key under models:
  nlohmann::json body;             // ChatCompletionRequest::body
  nlohmann::json audit_fields;     // user, metadata
};
// Relays it (relay_endpoint.cpp); called by chat_completions, which owns `chat` until the
// relay ends (GCC 12 mishandles a coroutine parameter of class type built in a co_await
// expression: it is destroyed twice).
Task<std::pair<int, bool>> relay_chat(ServerContext& ctx, Connection& conn, const Request& req,
                                      const ClientIdentity& client, RelayedChat& chat);
// POST /v1/route: the native routed call.
Task<Reply> native_route(ServerContext& ctx, const Request& req, const ClientIdentity& client);
// POST /v1/run: a request → a macro, through ServerOptions::run_handler.
Task<Reply> run_macro(ServerContext& ctx, const Request& req, const ClientIdentity& client);
// /admin/*: state, reload, kill switch, shadow (admin token required).
Task<Reply> admin_endpoint(ServerContext& ctx, const Request& req, const std::string& path);

}  // namespace ladder::server
