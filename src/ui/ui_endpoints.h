// /ui and /ui/api/* of `ladder serve` (docs/ui.md): the UI's static files, compiled in,
// and its JSON API behind the admin token or an API key, every reply with the security
// headers of ui_api.h. The transport (src/server/http_server.cpp) routes every path under
// /ui here.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "server/endpoints.h"
#include "store/record_store.h"

namespace ladder::ui {

// What the UI keeps for one server: its own connection to the decision store of the
// current policy (opened on first use, again when a reload names another store; SQLite in
// WAL mode lets it read beside the audit writer). Used from worker threads only.
class UiState {
 public:
  // Runs `use` with the store of `config` under this state's lock; kNotConfigured when
  // the policy keeps its records in JSONL only (no store to query).
  template <typename F>
  auto with_store(const Config& config, F&& use) -> decltype(use(std::declval<store::RecordStore&>())) {
    std::lock_guard lock(mu_);
    if (Status s = open(config.store); !s.ok()) return s;
    return use(*store_);
  }

 private:
  Status open(const StoreConfig& cfg);  // guarded by mu_
  std::mutex mu_;                       // guards store_, opened_
  std::unique_ptr<store::RecordStore> store_;
  std::string opened_;  // the store's kind and place
};

// One request under /ui. nullopt when the endpoint wrote its own reply (the playground's
// event stream): its status and whether to keep the connection are then in `written`.
server::Task<std::optional<server::Reply>> ui_endpoint(server::ServerContext& ctx, UiState& ui,
                                                       server::Connection& conn, const server::Request& req,
                                                       const std::string& path, std::pair<int, bool>& written);

// POST /ui/api/playground/route: {"task"?, "input", "privacy"?} routed step by step, one
// server-sent event per stage as it completes (ui_playground.cpp). `caller` is who
// authorized the request.
server::Task<std::pair<int, bool>> playground_route(server::ServerContext& ctx, server::Connection& conn,
                                                    const server::Request& req, const server::ClientIdentity& caller);
// POST /ui/api/playground/run: the body of POST /v1/run (a request, or a macro with its
// arguments and approval token), answered as /v1/run answers.
server::Task<server::Reply> playground_run(server::ServerContext& ctx, const server::Request& req,
                                           const server::ClientIdentity& caller);

}  // namespace ladder::ui
