// Router::route() and its steps: screen (and its evidence ruling), (run_local_tiers, in router.cpp), settle,
// (escalate, in escalation.cpp), finish.
#include <chrono>
#include <random>

#include "audit/record.h"
#include "ladder/utf8.h"
#include "policy/hard_stops.h"
#include "router/input_reduction.h"
#include "router/router.h"
#include "router/router_internal.h"
#include "validators/evidence.h"

namespace ladder {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string new_request_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id = "req_";
  for (int i = 0; i < 16; ++i) id += kHex[rng() & 0xF];
  return id;
}

Result<RoutePlan> Router::screen(const RouteRequest& req) {
  if (auto bad = first_invalid_utf8(req.input); bad != std::string_view::npos)
    return make_error(ErrorCode::kInvalidUtf8, "input is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  if (req.input.find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(ErrorCode::kInvalidArgument, "input is empty");

  RoutePlan p;
  p.start = Clock::now();
  Decision& d = p.d;
  d.request_id = req.request_id.empty() ? new_request_id() : req.request_id;
  d.task = req.task;
  p.task = config_->find_task(req.task);

  auto t0 = Clock::now();
  p.gate = evaluate_gates(*config_, p.task, req.input, req.options);
  d.stages.push_back({"gates", ms_since(t0)});
  d.local_only = p.gate.local_only;
  if (p.gate.go_local && p.gate.local_only && p.gate.reason) d.kept_local_reason = p.gate.reason;

  if (!p.gate.go_local) {
    d.reason = p.gate.reason;
    d.reason_detail = p.gate.detail;
    p.escalate_now = true;
    return p;
  }
  t0 = Clock::now();
  auto hit = scanner_->scan(req.input, "input");
  d.stages.push_back({"hard_stop_scan", ms_since(t0)});
  if (hit) {
    d.reason = hard_stop_reason(hit->category);
    d.reason_detail = "input matched hard-stop rule " + hit->rule_id;
    d.hard_stop = std::move(hit);
    p.escalate_now = true;
  } else if (p.task && !settled_by_evidence(req, p)) {
    p.local_pending = true;
  }
  return p;
}

bool Router::settled_by_evidence(const RouteRequest& req, RoutePlan& p) {
  // Privacy keeps even a failed local answer, and a shadowed candidate is compared with the
  // live one: both need the model to run.
  if (!options_.evidence_before_model || p.gate.local_only || shadows(p)) return false;
  const auto scanner = evidence_.find(p.task->name);
  if (scanner == evidence_.end()) return false;
  const auto t0 = Clock::now();
  auto ruled = evidence_rules_out_every_label(*p.task, scanner->second->scan(req.input));
  p.d.stages.push_back({"evidence", ms_since(t0)});
  if (!ruled) return false;
  p.d.reason = ruled->reason;
  p.d.reason_detail = "before the local model: " + ruled->detail;
  p.d.validators.push_back(std::move(*ruled));
  p.escalate_now = true;
  return true;
}

std::optional<std::size_t> Router::settle(const RouteRequest& req, RoutePlan& p) {
  Decision& d = p.d;
  if (!p.escalate_now && p.gate.reason && p.gate.local_only) {
    // Privacy kept the request local although a rule would have sent it up: say so.
    d.reason_detail = "kept local for privacy; " + p.gate.detail;
  }
  d.stages.push_back({"time_to_decision", ms_since(p.start)});
  // Escalations start above the local tiers, whichever local tier was asked last.
  const std::size_t from = local_tiers_ - 1;
  if (p.escalate_now) {
    if (!p.gate.local_only) return from;
    d.route = "refused";
    d.reason_detail += d.reason_detail.empty() ? "" : "; ";
    d.reason_detail += "privacy forbids sending this input beyond the local tier";
    return std::nullopt;
  }
  d.route = "local";
  if (d.local_answer) d.answer = *d.local_answer;
  d.answer_text = d.answer.is_null() ? d.local_answer_text
                                     : d.answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (req.shadow.value_or(config_->shadow) && config_->tiers.size() > 1) {
    // Shadow: the frontier answers the client; the audit keeps what ladder would have done.
    d.shadow = true;
    d.shadow_route = "local";
    return from;
  }
  return std::nullopt;
}

Result<Decision> Router::finish(const RouteRequest& req, RoutePlan&& p) {
  p.d.total_ms = ms_since(p.start);
  const nlohmann::json record = make_audit_record(p.d, req.input, config_->audit, p.last_prompt, req.audit_fields,
                                                  replay_key_ ? &*replay_key_ : nullptr);
  if (Status written = write_audit(record); !written.ok()) return written;
  return std::move(p.d);
}

void Router::finish_async(const RouteRequest& req, RoutePlan&& p, std::function<void(Result<Decision>)> done) {
  p.d.total_ms = ms_since(p.start);
  nlohmann::json record = make_audit_record(p.d, req.input, config_->audit, p.last_prompt, req.audit_fields,
                                            replay_key_ ? &*replay_key_ : nullptr);
  write_audit_async(std::move(record), [d = std::move(p.d), done = std::move(done)](Status written) mutable {
    if (!written.ok()) return done(written);
    done(std::move(d));
  });
}

Result<Decision> Router::route(const RouteRequest& req) {
  auto plan = screen(req);
  if (!plan.ok()) return plan.status();
  run_local_tiers(req, *plan);
  if (auto from = settle(req, *plan)) escalate(req, *plan, *from);
  return finish(req, std::move(*plan));
}

}  // namespace ladder
