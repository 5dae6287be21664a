// The endpoint handlers of `ladder serve`, each a coroutine on the connection's
// executor; model calls go to a worker through the context (worker_bridge.h).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/auth.h"
#include "server/errors.h"
#include "server/http_io.h"
#include "server/worker_bridge.h"

namespace ladder::server {

// POST /v1/chat/completions, plain or streamed; writes its own reply. Returns the
// status sent and whether to keep the connection.
Task<std::pair<int, bool>> chat_completions(ServerContext& ctx, Connection& conn, const Request& req,
                                            const ClientIdentity& client, Clock::time_point t0);
// The x-ladder-* headers of a routed decision: request id, route, reason, and the tier
// and model that answered.
std::vector<std::pair<std::string, std::string>> decision_headers(const Decision& d);
// POST /v1/messages (Anthropic's Messages API), plain or streamed; writes its own reply
// like chat_completions (messages_endpoint.cpp).
Task<std::pair<int, bool>> messages(ServerContext& ctx, Connection& conn, const Request& req,
                                    const ClientIdentity& client, Clock::time_point t0);
// A request for a configured model whose backend relays the request's API.
struct RelayedRequest {
  WireApi api = WireApi::kOpenAiChat;
  const ErrorFormat* errors = &kOpenAiErrors;  // the endpoint's error shape
  std::shared_ptr<Router> router;              // the request's one snapshot
  std::string model_name;                      // the key under models:
  nlohmann::json body;                         // the client's body, ladder's extension fields removed
  nlohmann::json audit_fields;                 // user, metadata
};
// Relays it (relay_endpoint.cpp); called by chat_completions and messages, which own
// `relayed` until the relay ends (g++ 12 destroys a coroutine's class-type argument
// twice when it is a temporary of the co_await expression).
Task<std::pair<int, bool>> relay_request(ServerContext& ctx, Connection& conn, const Request& req,
                                         const ClientIdentity& client, RelayedRequest& relayed);
// POST /v1/route: the native routed call.
Task<Reply> native_route(ServerContext& ctx, const Request& req, const ClientIdentity& client);
// POST /v1/run: a request → a macro, through ServerOptions::run_handler.
Task<Reply> run_macro(ServerContext& ctx, const Request& req, const ClientIdentity& client);
// /admin/*: state, reload, kill switch, shadow (admin token required).
Task<Reply> admin_endpoint(ServerContext& ctx, const Request& req, const std::string& path);

}  // namespace ladder::server
