// The decision pipeline: task lookup → gates → hard-stop scan → local tier → validators →
// accept, or escalate one tier at a time with a stated reason. Every decision is audited.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "audit/seal.h"
#include "ladder/audit_sink.h"
#include "ladder/backend.h"
#include "ladder/config.h"
#include "ladder/decision.h"
#include "ladder/validator.h"
#include "policy/gates.h"
#include "router/calibration.h"
#include "router/health.h"

namespace ladder {

class HardStopScanner;
class EvidenceScanner;

// "req_" and 16 random hex digits: the id of a request that came without one (the router
// and ladder serve's relays use the same).
std::string new_request_id();

struct RouteRequest {
  std::string task;
  std::string input;
  std::string request_id;  // generated when empty
  RequestOptions options;
  // Per-request shadow mode (the server's admin switch); the policy's `shadow` when unset.
  std::optional<bool> shadow;
  // When set, an escalated answer is streamed through it (generate_stream). A failure
  // before the first delta falls back to the next model or tier; a failure after it ends
  // the escalation (Decision::frontier_mid_stream).
  DeltaFn on_delta;
  std::chrono::milliseconds inter_token_timeout{0};  // streaming only; 0: no limit
  // The caller's limits for an escalation call (a chat request's max_tokens and
  // temperature); unset: the task's max_tokens and temperature 0. The local tier keeps
  // the task's own settings (greedy decoding, which its confidence is read from).
  std::optional<int> max_tokens;
  std::optional<double> temperature;
  // Extra fields merged into the audit record (the client's name, the request's user and
  // metadata); scrubbed like the rest of the record.
  nlohmann::json audit_fields;
};

// A decision in the making, between the steps of route() (for callers that run the steps
// on different threads: `ladder serve` screens on its I/O thread, runs the local tiers on
// a worker and escalates on its event loop).
struct RoutePlan {
  Decision d;
  const TaskConfig* task = nullptr;  // null: the policy does not define the request's task
  GateDecision gate;
  std::string last_prompt;  // the last local prompt, for the audit record when asked for
  std::chrono::steady_clock::time_point start;
  bool escalate_now = false;   // a rule sends the request up
  bool local_pending = false;  // run_local_tiers() is still to run (it calls a model)
};

// The packet the tier above reads for this plan's request: task, input (reduced when the
// task reduces) and the local answer with every client-supplied string's secrets masked,
// the reason, the output schema. The escalation sends it; the UI's playground shows it.
nlohmann::json escalation_packet_for(const RouteRequest& request, const RoutePlan& plan);

struct RouterOptions {
  // Build the backend for a model entry (tests may point models at fakes through config;
  // this hook exists for wiring, not for mocking ladder's own parts).
  std::function<Result<std::unique_ptr<Backend>>(const ModelConfig&)> backend_factory;
  // Do not call tiers above 0: the decision to escalate is recorded, the call skipped
  // (eval runs without a frontier).
  bool skip_escalation_calls = false;
  // Called when a model is marked down or up again (from the thread whose call or probe
  // flipped it); `last` is the outcome that did.
  std::function<void(const std::string& model_name, bool up, const Status& last)> on_health_change;
  // screen() settles a classify request before the local model when its evidence rules
  // out every label (the ruling the "evidence" validator would give after the model).
  // Off for a rotation candidate, whose answer is judged on every shadowed request.
  bool evidence_before_model = true;
};

class Router {
 public:
  // Compiles hard stops and builds every backend named in a tier. A backend that fails to
  // build is remembered as unavailable (its tier then escalates with local_unavailable),
  // not fatal.
  static Result<std::unique_ptr<Router>> create(ConfigPtr config, std::unique_ptr<AuditSink> audit,
                                                RouterOptions options = {});
  ~Router();

  // A decision for every well-formed request; an error only for input that cannot be
  // routed at all (invalid UTF-8, empty input), or kAuditUnavailable when its record
  // could not be written and the policy fails closed (audit.on_failure: closed).
  Result<Decision> route(const RouteRequest& request);

  // route() in steps. screen(): the input checks, gates, hard-stop scan and evidence
  // ruling (no model call; the same errors as route()). run_local_tiers(): the reduction
  // and the local tiers, when plan.local_pending (blocks on a model). settle(): the route
  // when no call is left ("local", "refused"), or the tier to escalate from (escalate()
  // or escalate_async() next; shadow mode too). finish(): total time and the audit record
  // (route()'s errors).
  Result<RoutePlan> screen(const RouteRequest& request);
  // With the policy's rotation set, the candidate model then answers the same input in
  // shadow, after the live local tiers; its result goes to plan.d.candidate
  // (src/router/candidate.cpp) and never changes the decision.
  void run_local_tiers(const RouteRequest& request, RoutePlan& plan);
  // Whether run_local_tiers_async() serves: every built model of the local tiers answers
  // on an event loop (Backend::generates_async) from a chat request (no raw-prompt
  // calibration calls), and no rotation candidate shadows the requests.
  bool locals_async() const { return locals_async_; }
  // run_local_tiers() on `client`'s event loop: the same steps, each model call
  // Backend::generate_async. `done` runs once, on the loop (or here, when no call is
  // made); or, when a step after a model call threw, `failed` does instead, with the
  // exception (it never reaches the loop). `request` and `plan` must stay alive and
  // untouched until then.
  void run_local_tiers_async(const RouteRequest& request, RoutePlan& plan, const http::Client& client,
                             std::function<void()> done, std::function<void(std::exception_ptr)> failed);
  std::optional<std::size_t> settle(const RouteRequest& request, RoutePlan& plan);
  void escalate(const RouteRequest& request, RoutePlan& plan, std::size_t from_tier);
  Result<Decision> finish(const RouteRequest& request, RoutePlan&& plan);
  // finish() without waiting for the audit store (AuditSink::write_async): `done` gets
  // finish()'s result, once, on the thread that ended the write (the store's writer, or
  // here). It must not block; `request` need not outlive this call.
  void finish_async(const RouteRequest& request, RoutePlan&& plan, std::function<void(Result<Decision>)> done);
  // Whether every built model of the tiers above the local ones runs on an event loop
  // (Backend::generates_async): then escalate_async() serves.
  bool escalates_async() const { return escalates_async_; }
  // escalate() on `client`'s event loop: each model call is Backend::generate_async,
  // health admitted and recorded as escalate() does; request.on_delta runs on the loop.
  // `done` runs once, on the loop (or here, when no call is made). `request` and `plan`
  // must stay alive and untouched until then.
  void escalate_async(const RouteRequest& request, RoutePlan& plan, std::size_t from_tier, const http::Client& client,
                      std::function<void()> done);

  const Config& config() const { return *config_; }
  // Errors from building backends, by model name.
  const std::map<std::string, Status>& backend_errors() const { return backend_errors_; }

  // How many requests the local tier serves at once (the least of its built backends'
  // parallel_calls; 1 when none is built). Thread-safe: route() may be called from this
  // many threads without one waiting on another's model call.
  int local_parallelism() const;
  // Every model named in a tier, built or not.
  std::vector<std::string> model_names() const;
  // Runs the model's health() probe and feeds its outcome to the model's health, as every
  // real call does (router/health.h): a model marked down is skipped (its tier escalates
  // with local_unavailable) until a trial call or a probe succeeds. Thread-safe.
  Status check_health(const std::string& model_name);
  // Built and not marked down.
  bool healthy(const std::string& model_name) const;
  // The code of the last failure that counted against a built model (kOk when none).
  ErrorCode last_failure(const std::string& model_name) const;
  // One call on a named model with no policy around it (the server's pass-through);
  // streams through on_delta when given. A model marked down is not called
  // (kUnavailable with the time to its next trial as retry_after).
  Result<GenerationResult> generate_direct(const std::string& model_name, const GenerationRequest& request,
                                           const DeltaFn* on_delta = nullptr);
  // generate_direct() on `client`'s event loop (Backend::generate_async; streamed through
  // on_delta when set, which runs on the loop), health admitted and recorded the same way:
  // false when the backend has no such path (nothing was done); else `done` runs once, on
  // the loop or, when the model is refused at once, here.
  bool generate_direct_async(const std::string& model_name, const GenerationRequest& request,
                             const http::Client& client, DeltaFn on_delta, GenerateDoneFn done);
  // Whether the named model's backend relays requests of `api` as they are (forward_direct).
  bool forwards(const std::string& model_name, WireApi api) const;
  // generate_direct() for a relayed request (Backend::forward), under the same health rules.
  Result<ForwardReply> forward_direct(const std::string& model_name, const ForwardRequest& request,
                                      const ChunkFn& on_chunk);
  // forward_direct() on `client`'s event loop (Backend::forward_async), health admitted
  // and recorded the same way: false when the backend has no such path (nothing was
  // done); else `done` runs once, on the loop or, when the model is refused at once, here.
  bool forward_direct_async(const std::string& model_name, const ForwardRequest& request, const http::Client& client,
                            ChunkFn on_chunk, ForwardDoneFn done);
  // Appends one record to the router's audit sink (pass-through and macro-run records
  // too). A failed write is logged; it is the caller's error (kAuditUnavailable) only
  // when the policy fails closed (audit.on_failure: closed), else ok.
  Status write_audit(const nlohmann::json& record);
  // write_audit() without waiting for the store: `done` gets its result as finish_async()'s.
  void write_audit_async(nlohmann::json record, std::function<void(Status)> done);

 private:
  Router() = default;
  struct LocalOutcome;
  // One request's walk over the local tiers (local_tiers.cpp): its steps are the same
  // whether each model call blocks or ends on an event loop.
  struct LocalRun;
  using LocalThen = std::function<void(Result<GenerationResult>)>;
  // `client` null: each model call blocks; else it ends on the client's loop.
  void start_local_tiers(const RouteRequest& request, RoutePlan& plan, const http::Client* client,
                         std::function<void()> done, std::function<void(std::exception_ptr)> failed);
  // A local step's call on its tier's models: `then` gets the result at once (blocking)
  // or later, on the run's loop. `req` stays alive until then.
  void call_local(const std::shared_ptr<LocalRun>& run, const GenerationRequest& req, LocalThen then);
  void local_tier(const std::shared_ptr<LocalRun>& run);
  void classify_call(const std::shared_ptr<LocalRun>& run);
  void classify_answer(const std::shared_ptr<LocalRun>& run, Result<GenerationResult> gen);
  void macro_choice_call(const std::shared_ptr<LocalRun>& run);
  void macro_choice_answer(const std::shared_ptr<LocalRun>& run, Result<GenerationResult> pick);
  void macro_args_answer(const std::shared_ptr<LocalRun>& run, Result<GenerationResult> args);
  void local_tier_done(const std::shared_ptr<LocalRun>& run);
  // Clears what one local tier answered before the next local tier is asked (its outcome
  // stays in d.local_tries and its calls in d.tiers).
  static void restart_local(Decision& d);
  bool local_takes_prefix(std::size_t tier) const;
  // A closed choice's answer: the prompt-side prefix rebuilt, content-free calibration
  // applied (raw-prompt models only: its prior calls block).
  void finish_choice(const LocalRun& run, const std::string& key, const std::vector<std::string>& choices,
                     const std::function<std::string(std::string_view)>& prompt_for, GenerationResult& g);
  // Runs the validator chain on a local answer and settles the outcome's reason.
  void validate_local(ValidationContext& ctx, Decision& d, LocalOutcome& out) const;
  // The fitted calibration of the tier-0 model that answered, for this task, if any.
  const FittedCalibration* fitted_for(const TaskConfig& task, const Decision& d, std::size_t tier) const;
  // Rewrites a prefix-mode closed choice (g = prefix + choice + '"}') to the calibrated
  // choice with its calibrated probability. False when calibration could not be applied.
  bool calibrate_choice(std::size_t tier, const std::string& cache_key, const std::vector<std::string>& choices,
                        const std::string& prefix, const GenerationRequest& like,
                        const std::function<std::string(std::string_view)>& prompt_for, GenerationResult& g);
  // One call on a local tier's models in order, from `model_index` on, until one answers:
  // blocking when `client` is null, else on its loop. `last` is the failure to report
  // when no model is left.
  void generate_on_tier(std::size_t tier, std::size_t model_index, const GenerationRequest& req, Decision& d,
                        const http::Client* client, Status last, LocalThen then);
  // An escalation's progress over the tiers above the local ones, one model call at a
  // time (escalate() and escalate_async() drive the same steps).
  struct Escalation;
  std::shared_ptr<Escalation> begin_escalation(const RouteRequest& req, RoutePlan& plan, std::size_t from_tier);
  // The next model to call, its attempt begun in `attempt`, or null when the escalation
  // is over (models refused by health are recorded and passed over).
  Backend* next_call(Escalation& e, Decision& d, TierAttempt& attempt);
  // Records one call's outcome and decides what comes next.
  void end_call(Escalation& e, Decision& d, TierAttempt attempt, const Backend& backend,
                Result<GenerationResult> result, bool delivered);
  // What a write's outcome means for the request (write_audit's rule).
  Status audit_outcome(const std::string& request_id, const Status& written) const;
  void step_async(const std::shared_ptr<Escalation>& e, const http::Client& client, std::function<void()> done);
  // The bookkeeping of one model call (generate_on_tier and the escalation alike): the
  // attempt begun (nullptr when health refuses the model; the attempt then says why).
  Backend* begin_attempt(std::size_t tier_index, const std::string& name, TierAttempt& attempt, Status& refused);
  void end_attempt(const std::string& request_id, TierAttempt& attempt, const Backend& backend,
                   std::chrono::steady_clock::time_point t0, const Result<GenerationResult>& result);

  // Model rotation (candidate.cpp): a router of one local tier holding the candidate model,
  // built from this policy with that tier alone; it runs screen() and run_local_tiers() on
  // the shadowed requests, so the candidate meets the same validators and calibration.
  Status build_candidate();
  // Whether this request is shadowed: a task the rotation names, and in its sample (drawn
  // from the request id, so one request is shadowed or not whenever it is routed).
  bool shadows(const RoutePlan& plan) const;
  // screen()'s last step: true when the task's evidence rules out every label the local
  // model could give; the plan then escalates with the evidence validator's reason.
  bool settled_by_evidence(const RouteRequest& request, RoutePlan& plan);
  CandidateResult run_candidate(const RouteRequest& request, const std::string& request_id);
  std::unique_ptr<Router> candidate_;
  std::string candidate_sha256_;
  // audit.replay: the key each record's raw input is sealed with (read at create()).
  std::optional<audit::SealKey> replay_key_;

  ConfigPtr config_;
  std::size_t local_tiers_ = 0;  // tiers [0, local_tiers_) are local
  std::unique_ptr<HardStopScanner> scanner_;
  // Per classify task with `evidence:` rules, compiled once (the "evidence" validator and
  // settled_by_evidence).
  std::map<std::string, std::unique_ptr<EvidenceScanner>> evidence_;
  std::map<std::string, std::unique_ptr<Backend>> backends_;
  std::map<std::string, Status> backend_errors_;
  // Health per built backend (keys fixed at construction; each guards its own state).
  std::map<std::string, std::unique_ptr<BackendHealth>> health_;
  // Feeds one outcome (a probe's or a call's) to the model's health and reports a change.
  void record_health(const std::string& model_name, const Status& outcome, bool probe);
  // In-process models (backend: embedded), judged by their probes only (keys fixed at
  // construction).
  std::set<std::string> probe_only_;
  // Why the model cannot be called now (not built; marked down with no trial due: then
  // kUnavailable with retry_after), or ok. Sets `skip` to match.
  Status admit(const std::string& model_name, AttemptSkip& skip);
  std::unique_ptr<AuditSink> audit_;
  RouterOptions options_;
  bool escalates_async_ = false;
  bool locals_async_ = false;
  ChoicePriors priors_;  // content-free priors per task and choice key
  // Fitted calibrations (models' calibration_file), by model name and task.
  std::map<std::string, std::map<std::string, FittedCalibration>> fitted_;
};

}  // namespace ladder
