// POST /v1/run: a natural-language request (or a named macro with arguments) → the
// compiled macro, with the approval rules of macros. JSON in and out; the macro runtime
// and the router do the work.
//
// Body: {"request": "..."} to route with the policy's route_macro task ("task" picks
// another), or {"macro": "id", "args": {...}}. Optional: "dry_run": true (send no write),
// "approval_token": "..." (approves the irreversible steps of exactly that macro and
// those arguments, as handed back by an earlier approval_required answer),
// "privacy": true.
// Answer 200: {"status": ok | dry_run | approval_required | error | escalated | refused,
// "decision": {...} (when routed), "run": {...} (when a macro ran), "approval_token"
// (when approval is required)}. Bad bodies, unknown macros and invalid arguments are
// errors in OpenAI's shape (400/404) through the server's error funnel.
//
// A macro's HTTP steps go out on the HTTP client it is given: in `ladder serve` the
// server's one client on its I/O loop (pooled, kept-alive connections shared with the
// backends). handle() blocks on it: call it from a worker thread, never from that loop.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ladder/status.h"
#include "server/auth.h"

namespace ladder::http {
class Client;
}

namespace ladder::server {

class Gateway;

// The /v1/run body, checked: known fields only, each of its type, either `request` or
// `macro`, `args` an object, `approval_token` only with `macro`. kInvalidArgument naming
// the field otherwise.
struct RunRequest {
  std::string request;
  std::string macro;
  std::string task;
  std::string approval_token;
  bool dry_run = false;
  bool privacy = false;
  nlohmann::json args = nlohmann::json::object();
};
Result<RunRequest> parse_run_request(const nlohmann::json& body);

class RunApi {
 public:
  // `upstream` carries the macros' HTTP steps and must outlive the RunApi's runs.
  RunApi(Gateway& gateway, const ladder::http::Client& upstream);
  ~RunApi();
  Result<nlohmann::json> handle(const nlohmann::json& body, const ClientIdentity& client);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ladder::server
