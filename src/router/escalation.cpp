// Router's escalation: the tiers above the local ones, one model call at a time, driven
// by escalate() (blocking) or escalate_async() (on an event loop) through the same steps.
#include <chrono>
#include <memory>

#include "audit/redact.h"
#include "router/input_reduction.h"
#include "router/prompt.h"
#include "router/router.h"
#include "router/router_internal.h"
#include "validators/json_schema.h"

namespace ladder {
namespace {

using Clock = std::chrono::steady_clock;

// An escalation of a request whose task the policy does not define has no task budget.
constexpr int kUnknownTaskMaxTokens = 1024;

}  // namespace

nlohmann::json escalation_packet_for(const RouteRequest& req, const RoutePlan& plan) {
  const Decision& d = plan.d;
  const TaskConfig* task = plan.task;
  const nlohmann::json* schema = task && task->output_schema ? &*task->output_schema : nullptr;
  // Secrets never leave in a packet: the frontier gets every client-supplied string (the
  // task name too) with tokens masked. A reduced input goes up reduced: the frontier
  // reads the decisive lines, not the whole log.
  nlohmann::json packet = escalation_packet(
      task, redact_secrets(req.task), redact_secrets(d.reduction ? d.reduction->text : req.input),
      redact_secrets(d.local_answer_text), d.reason ? std::string(reason_name(*d.reason)) : "", schema);
  if (d.reduction) describe_reduction(packet, *d.reduction);
  return packet;
}

struct Router::Escalation {
  const RouteRequest* req = nullptr;
  RoutePlan* plan = nullptr;
  const nlohmann::json* schema = nullptr;  // the task's output schema
  GenerationRequest up;                    // the packet; its timeout is the current tier's
  std::size_t tier = 0;                    // the tier being tried
  std::size_t model = 0;                   // its next model
  Status last;                             // the tier's last failure
  Clock::time_point t0;                    // the escalation's start
  Clock::time_point call_t0;               // the current call's start
  bool done = false;
};

std::shared_ptr<Router::Escalation> Router::begin_escalation(const RouteRequest& req, RoutePlan& plan,
                                                             std::size_t from_tier) {
  Decision& d = plan.d;
  const TaskConfig* task = plan.task;
  d.route = "frontier";
  if (options_.skip_escalation_calls) {
    d.escalation_skipped = true;
    return nullptr;
  }
  auto e = std::make_shared<Escalation>();
  e->req = &req;
  e->plan = &plan;
  e->t0 = Clock::now();
  if (task && task->output_schema) e->schema = &*task->output_schema;
  const nlohmann::json packet = escalation_packet_for(req, plan);
  if (from_tier + 1 >= config_->tiers.size())
    d.frontier_error =
        make_error(ErrorCode::kUnavailable, "the policy has no tier above '" + config_->tiers.at(from_tier).name + "'");
  e->up.messages = {{"system", escalation_system_prompt()},
                    {"user", packet.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}};
  if (e->schema) e->up.json_schema = *e->schema;
  e->up.max_tokens = req.max_tokens.value_or(task ? task->max_tokens : kUnknownTaskMaxTokens);
  e->up.temperature = req.temperature.value_or(0.0);
  e->up.want_logprobs = false;
  e->up.inter_token_timeout = req.inter_token_timeout;
  e->tier = from_tier + 1;
  return e;
}

Backend* Router::next_call(Escalation& e, Decision& d, TierAttempt& attempt) {
  while (!e.done && e.tier < config_->tiers.size()) {
    const TierConfig& tier = config_->tiers[e.tier];
    if (e.model == 0) {
      e.up.timeout = request_timeout(*config_, tier);
      e.last = make_error(ErrorCode::kUnavailable, "tier '" + tier.name + "' has no models");
    }
    if (e.model < tier.models.size()) {
      Status refused;
      Backend* backend = begin_attempt(e.tier, tier.models[e.model++], attempt, refused);
      if (backend != nullptr) {
        e.call_t0 = Clock::now();
        return backend;
      }
      e.last = std::move(refused);
      d.tiers.push_back(std::move(attempt));
      continue;
    }
    // No model of this tier answered: the next tier is asked.
    d.frontier_error = e.last;
    ++e.tier;
    e.model = 0;
  }
  return nullptr;
}

void Router::end_call(Escalation& e, Decision& d, TierAttempt attempt, const Backend& backend,
                      Result<GenerationResult> result, bool delivered) {
  end_attempt(d.request_id, attempt, backend, e.call_t0, result);
  d.tiers.push_back(std::move(attempt));
  if (!result.ok()) {
    e.last = result.status();
    if (delivered) {
      // Part of the answer is already with the caller: no other model may answer.
      d.frontier_error = e.last;
      d.frontier_mid_stream = true;
      e.done = true;
    }
    return;
  }
  d.frontier_ok = true;
  d.frontier_error = Status();
  d.stream_cancelled = delivered && result->finish_reason == "cancelled";
  d.answer_text = std::move(result->text);
  try {
    d.answer = nlohmann::json::parse(d.answer_text);
  } catch (const nlohmann::json::exception&) {
    d.answer = nullptr;
  }
  if (e.schema && e.tier + 1 < config_->tiers.size() && !delivered &&
      (d.answer.is_null() || !validate_json_schema(*e.schema, d.answer).ok())) {
    // A middle tier must meet the schema; otherwise climb one more step.
    ++e.tier;
    e.model = 0;
    return;
  }
  e.done = true;
}

void Router::escalate(const RouteRequest& req, RoutePlan& plan, std::size_t from_tier) {
  auto e = begin_escalation(req, plan, from_tier);
  if (!e) return;
  Decision& d = plan.d;
  TierAttempt attempt;
  while (Backend* backend = next_call(*e, d, attempt)) {
    bool delivered = false;
    auto result = req.on_delta ? backend->generate_stream(e->up,
                                                          [&](std::string_view delta) {
                                                            delivered = true;
                                                            return req.on_delta(delta);
                                                          })
                               : backend->generate(e->up);
    end_call(*e, d, std::move(attempt), *backend, std::move(result), delivered);
  }
  d.stages.push_back({"escalate", ms_since(e->t0)});
}

void Router::escalate_async(const RouteRequest& req, RoutePlan& plan, std::size_t from_tier, const http::Client& client,
                            std::function<void()> done) {
  auto e = begin_escalation(req, plan, from_tier);
  if (!e) return done();
  step_async(e, client, std::move(done));
}

void Router::step_async(const std::shared_ptr<Escalation>& e, const http::Client& client, std::function<void()> done) {
  Decision& d = e->plan->d;
  auto attempt = std::make_shared<TierAttempt>();
  Backend* backend = next_call(*e, d, *attempt);
  if (backend == nullptr) {
    d.stages.push_back({"escalate", ms_since(e->t0)});
    return done();
  }
  auto delivered = std::make_shared<bool>(false);
  DeltaFn on_delta;
  if (e->req->on_delta) {
    on_delta = [e, delivered](std::string_view delta) {
      *delivered = true;
      return e->req->on_delta(delta);
    };
  }
  auto next = [this, e, backend, attempt, delivered, &client, done](Result<GenerationResult> result) mutable {
    end_call(*e, e->plan->d, std::move(*attempt), *backend, std::move(result), *delivered);
    step_async(e, client, std::move(done));
  };
  if (!backend->generate_async(e->up, client, on_delta, next)) {
    // Not a backend of the loop (escalates_async() was false): the blocking call.
    next(on_delta ? backend->generate_stream(e->up, on_delta) : backend->generate(e->up));
  }
}

}  // namespace ladder
