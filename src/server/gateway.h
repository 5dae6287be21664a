// What the HTTP layer serves, without HTTP: the current Router snapshot (swapped
// atomically on reload; requests in flight keep the one they started with), the admin
// switches (kill switch per task or global, shadow), pass-through to a named model,
// backend health probes on an interval (real calls move a model's health as well, see
// router/health.h), and the metrics each request feeds.
// Every method that calls a model blocks: call it from a worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "audit/record.h"
#include "router/router.h"
#include "server/auth.h"
#include "server/backend_pool.h"
#include "server/metrics.h"
#include "server/openai_api.h"
#include "server/quota.h"
#include "store/shared_state.h"

namespace ladder::server {

struct Price {
  double prompt_per_mtok = 0.0;  // US dollars per million prompt tokens
  double completion_per_mtok = 0.0;
};

struct GatewayOptions {
  std::string policy_path;
  std::string audit_path;                            // empty: the policy's audit.jsonl, else ./ladder-audit.jsonl
  std::chrono::milliseconds health_interval{10000};  // 0: no periodic checks
  std::map<std::string, Price> prices;               // by model name (key under models:)
};

struct AdminState {
  bool kill_all = false;
  std::set<std::string> kill_tasks;
  std::optional<bool> shadow;  // unset: the policy's
};

// The outcome of one model request, with the times the overhead metric needs.
struct RoutedOutcome {
  Decision decision;
  double backend_ms = 0.0;  // sum of the tiers' call latencies
};

struct PassThroughOutcome {
  GenerationResult result;
  std::string model_name;
};

// What serves a chat request: a task of the router (model "ladder/<task>" or
// "ladder/auto", the task then from the extension or the classifier) or, for any other
// model name, the configured model of that name (pass-through).
struct ChatTarget {
  bool routed = false;
  std::string task;        // routed
  std::string input;       // routed: the text the task decides on
  std::string model_name;  // pass-through: the key under models:
};

// kNotFound (param "model") when the model is neither a ladder/ name nor served here.
Result<ChatTarget> select_target(const Router& router, const ChatCompletionRequest& chat);

// A routed decision that gave no answer, as the error for the client: a refused
// escalation (kPermissionDenied), or an escalation no tier answered: the last tier's
// typed failure (its code and retry-after) with words for the client, never the
// backend's message.
std::optional<Status> decision_failure(const Decision& d);

class Gateway {
 public:
  static Result<std::unique_ptr<Gateway>> create(GatewayOptions options, MetricsRegistry& metrics);
  ~Gateway();

  std::shared_ptr<Router> router() const { return router_.load(); }

  // Loads the policy again and swaps the router; on error the old one stays.
  Status reload();

  // A routed request on `router` (the request's one snapshot) under the admin switches;
  // metrics and audit included.
  Result<RoutedOutcome> route(const std::shared_ptr<Router>& router, RouteRequest request,
                              const ClientIdentity& client);
  // route() in the router's steps (Router::screen ... finish), for a caller that runs them
  // on different threads: prepare_route() first (the admin switches, the client in the
  // record), finish_route() last (the record, the decision metrics).
  void prepare_route(RouteRequest& request, const ClientIdentity& client) const;
  Result<RoutedOutcome> finish_route(const std::shared_ptr<Router>& router, const RouteRequest& request,
                                     RoutePlan&& plan, const ClientIdentity& client);
  // finish_route() without waiting for the audit store (Router::finish_async): `done`
  // runs once, on the store's writer thread or here, and must not block.
  void finish_route_async(const std::shared_ptr<Router>& router, const RouteRequest& request, RoutePlan&& plan,
                          const ClientIdentity& client, std::function<void(Result<RoutedOutcome>)> done);

  // The model key under `models:` that serves `name` (the key itself or its upstream id).
  static std::optional<std::string> resolve_model(const Router& router, const std::string& name);
  // One call on a named model of `router`, audited as route "pass_through" (with
  // `audit_fields` merged in). A failure keeps its code and retry-after; its message is
  // the client's (public_call_error), the backend's own goes to the log and the record.
  Result<PassThroughOutcome> pass_through(const std::shared_ptr<Router>& router, const std::string& model_name,
                                          const GenerationRequest& request, const DeltaFn* on_delta,
                                          const std::string& request_id, const ClientIdentity& client,
                                          const nlohmann::json& audit_fields = {});

  // pass_through() on `loop`'s event loop (Router::generate_direct_async; no worker
  // thread): false when the model's backend has no such path (nothing was done); else
  // `done` gets what pass_through() would have returned, once, on the loop, the same
  // record written without waiting for the store. `on_delta` (streamed when set) runs on
  // the loop. `router` is kept alive until `done` ran.
  bool pass_through_async(const std::shared_ptr<Router>& router, const std::string& model_name,
                          const GenerationRequest& request, DeltaFn on_delta, const std::string& request_id,
                          const ClientIdentity& client, const nlohmann::json& audit_fields,
                          const ladder::http::Client& loop, std::function<void(Result<PassThroughOutcome>)> done);

  // A request relayed to a named model in the upstream's own API (Backend::forward),
  // audited as route "pass_through" with `relayed`, `stream`, `delivered` (false when the
  // client went away or the stream broke), `tool_calls`, `finish_reason` and
  // `upstream_status`. Failures as for pass_through().
  Result<ForwardReply> relay(const std::shared_ptr<Router>& router, const std::string& model_name,
                             const ForwardRequest& request, const ChunkFn& on_chunk, const std::string& request_id,
                             const ClientIdentity& client, const nlohmann::json& audit_fields = {});
  // relay() on `loop`'s event loop (the server's I/O threads; no worker thread): false
  // when the model's backend has no such path (nothing was done); else `done` gets what
  // relay() would have returned, once, the record written. `on_chunk` runs on the loop.
  // `router` is kept alive until `done` ran.
  bool relay_async(const std::shared_ptr<Router>& router, const std::string& model_name, const ForwardRequest& request,
                   ChunkFn on_chunk, const std::string& request_id, const ClientIdentity& client,
                   const nlohmann::json& audit_fields, const ladder::http::Client& loop, ForwardDoneFn done);

  AdminState admin() const;
  // kNotFound when `task` is not a task of the current policy. With shared state the
  // switch is written there first (blocking: call from a worker) and kUnavailable when
  // that fails; every replica then applies it (docs/deploy.md).
  Status set_kill_switch(bool enabled, const std::optional<std::string>& task);
  Status set_shadow(std::optional<bool> enabled);

  // Replicas on one PostgreSQL: the admin switches follow `shared` (its state now, then
  // each change another replica makes) and the client quotas count every replica's use.
  // Call once, before serving.
  void share_state(std::unique_ptr<store::SharedState> shared);
  store::SharedState* shared_state() const { return shared_.get(); }

  // Probes every backend of the current router now; the metrics gauge follows.
  void check_health();
  // {"ready", "models": {name: {"tier", "required", "healthy", "error"?}}, "down": [names],
  // "audit": {"ok"}}: ready when a model of the local tier is up and the last audit write
  // succeeded. Models of the tiers above (the frontier) never make it unready; "down"
  // lists them, with the code of what took each out as "error".
  nlohmann::json readiness() const;

  MetricsRegistry& metrics() { return metrics_; }
  // Feeds the per-request decision metrics (decisions, acceptance, stages, tokens, cost).
  // `client`: whose limits the tokens and spend count against (none: nobody's).
  void record_decision(const Decision& d, const ClientIdentity* client = nullptr);
  void record_tokens(const std::string& model_name, int prompt, int completion, int cached,
                     const ClientIdentity* client = nullptr);
  // The per-client limits of the keys file (src/server/quota.h).
  ClientQuotas& quotas() { return quotas_; }

 private:
  // A finished decision's outcome for the server: the decision metrics, the backend time.
  Result<RoutedOutcome> routed_outcome(Result<Decision> decision, const ClientIdentity& client);
  // A direct generation (pass_through and pass_through_async) as a pass-through call.
  static PassThroughCall direct_call(const std::string& model_name, const std::string& request_id,
                                     std::chrono::steady_clock::time_point t0, const Result<GenerationResult>& result);
  // A relayed call as a pass-through call, its relay fields added to `fields`.
  static PassThroughCall relayed_call(const std::string& model_name, bool stream, const std::string& request_id,
                                      std::chrono::steady_clock::time_point t0, bool sent,
                                      const Result<ForwardReply>& result, nlohmann::json& fields);
  // The record of one pass-through call, with its metrics and log line; `failure` gets the
  // client's error when the call failed (its code, ladder's words).
  nlohmann::json pass_through_record(const PassThroughCall& call, const ClientIdentity& client,
                                     const nlohmann::json& audit_fields, int cached_prompt_tokens, Status& failure);
  // The record, metrics and log line of one pass-through call; the client's error when it
  // failed (its code, ladder's words) or the audit failure under on_failure: closed.
  Status audit_pass_through(const std::shared_ptr<Router>& router, const PassThroughCall& call,
                            const ClientIdentity& client, const nlohmann::json& audit_fields,
                            int cached_prompt_tokens = 0);

  Gateway(GatewayOptions options, MetricsRegistry& metrics) : options_(std::move(options)), metrics_(metrics) {}
  Result<std::shared_ptr<Router>> build_router();
  void health_loop();

  GatewayOptions options_;
  MetricsRegistry& metrics_;
  ClientQuotas quotas_;
  BackendPool backends_;
  std::atomic<std::shared_ptr<Router>> router_;
  std::mutex reload_mu_;                    // one reload at a time
  std::atomic<bool> audit_failing_{false};  // the last audit write failed

  mutable std::mutex admin_mu_;  // guards admin_
  AdminState admin_;

  std::mutex health_mu_;  // guards stopping_ (with health_cv_)
  std::condition_variable health_cv_;
  bool stopping_ = false;
  std::thread health_thread_;

  // Last: its threads call into the members above, so it stops first.
  std::unique_ptr<store::SharedState> shared_;
};

}  // namespace ladder::server
