// Router::run_local_tiers and run_local_tiers_async: the reduction, then each local tier
// in turn (a closed choice of label or macro, a macro's arguments, the validators), the
// next tier asked only when this one was unsure. The steps are written once, in
// continuation style: a step ends by calling its tier's models (call_local), which hand
// the result to the next step at once (blocking) or later, on the loop.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <utility>

#include "router/decision_json.h"
#include "router/fitted_calibration.h"
#include "router/grammar.h"
#include "router/input_reduction.h"
#include "router/prompt.h"
#include "router/router.h"
#include "router/router_internal.h"
#include "validators/confidence.h"
#include "validators/json_schema.h"
#include "validators/registry.h"

namespace ladder {
namespace {

using Clock = std::chrono::steady_clock;

// A closed choice whose fixed JSON prefix was put in the prompt: rebuild the whole answer,
// the prefix as one forced token (logprob 0), so spans and confidence read as usual.
void prepend_prefix(GenerationResult& g, const std::string& prefix) {
  if (prefix.empty()) return;
  g.text = prefix + g.text;
  if (!g.tokens.empty()) g.tokens.insert(g.tokens.begin(), TokenLogprob{prefix, 0.0, {}});
}

// A local answer that failed for one of these may be settled by a larger local model;
// the others (a hard stop in the answer, an escalating label) go up whatever it says.
bool climbs_locally(Reason r) {
  switch (r) {
    case Reason::kConfidenceLow:
    case Reason::kSchemaInvalid:
    case Reason::kArgsUngrounded:
    case Reason::kNoMacroMatch:
    case Reason::kLocalUnavailable:
      return true;
    default:
      return false;
  }
}

// The reason detail of a local tier that gave no answer: its last attempt in words a
// client may read (the backend's own message stays in the tiers of the audit record).
std::string local_failure_detail(const Decision& d, const Status& failure) {
  if (!d.tiers.empty() && !d.tiers.back().ok) return public_attempt_error(d.tiers.back());
  return std::string(error_name(failure.code()));
}

// A local tier's model call that gave no answer: the outcome says so (true), else false.
template <typename Outcome>
bool gave_no_answer(const Status& call, const Decision& d, Outcome& out) {
  if (call.ok()) return false;
  out.reason = Reason::kLocalUnavailable;
  out.detail = local_failure_detail(d, call);
  return true;
}

}  // namespace

struct Router::LocalOutcome {
  std::size_t tier = 0;          // the local tier asked
  std::optional<Reason> reason;  // set when the local answer cannot be accepted
  std::string detail;
  std::string prompt;               // the last prompt sent, for the audit record when asked for
  std::string_view original_input;  // the request's input when the local model read a reduction
};

struct Router::LocalRun {
  LocalRun(const RouteRequest& r, RoutePlan& p, const http::Client* c, std::function<void()> d,
           std::function<void(std::exception_ptr)> f)
      : req(r), plan(p), task(*p.task), client(c), done(std::move(d)), failed(std::move(f)) {}
  const RouteRequest& req;
  RoutePlan& plan;
  const TaskConfig& task;
  const http::Client* client;  // the loop the model calls end on; null: they block
  std::function<void()> done;
  std::function<void(std::exception_ptr)> failed;  // on the loop: a step after a call threw
  // What the local model reads: the reduction when the task reduces, else the input.
  const std::string& input() const { return plan.d.reduction ? plan.d.reduction->text : req.input; }
  std::size_t tier = 0;
  LocalOutcome out;
  Clock::time_point t0;   // this tier's start
  GenerationRequest gen;  // the call in flight (alive until its answer)
  std::string prefix;     // a raw-prompt closed choice's fixed JSON prefix
  GenerationResult pick;  // route_macro: the macro chosen (step 1)
  const MacroConfig* macro = nullptr;
};

void Router::run_local_tiers(const RouteRequest& req, RoutePlan& p) {
  if (!p.local_pending) return;
  start_local_tiers(req, p, nullptr, [] {}, {});
  // After the live tiers, not beside them: two in-process models computing at once slow
  // each other down, and the live one must not miss its budget for the candidate's sake.
  if (!shadows(p)) return;
  const auto t0 = Clock::now();
  p.d.candidate = run_candidate(req, p.d.request_id);
  p.d.stages.push_back({"candidate", ms_since(t0)});  // what the shadow added to this request
}

void Router::run_local_tiers_async(const RouteRequest& req, RoutePlan& p, const http::Client& client,
                                   std::function<void()> done, std::function<void(std::exception_ptr)> failed) {
  if (!p.local_pending) return done();
  start_local_tiers(req, p, &client, std::move(done), std::move(failed));
}

void Router::start_local_tiers(const RouteRequest& req, RoutePlan& p, const http::Client* client,
                               std::function<void()> done, std::function<void(std::exception_ptr)> failed) {
  p.local_pending = false;
  const auto t0 = Clock::now();
  p.d.reduction = reduce_task_input(*p.task, req.input);
  if (p.d.reduction) p.d.stages.push_back({"reduce", ms_since(t0)});
  local_tier(std::make_shared<LocalRun>(req, p, client, std::move(done), std::move(failed)));
}

void Router::local_tier(const std::shared_ptr<LocalRun>& run) {
  Decision& d = run->plan.d;
  if (run->tier > 0) restart_local(d);
  run->out = LocalOutcome{};
  run->out.tier = run->tier;
  if (d.reduction) run->out.original_input = run->req.input;
  run->t0 = Clock::now();
  if (run->task.kind != TaskKind::kRouteMacro) return classify_call(run);
  if (!config_->macros.empty()) return macro_choice_call(run);
  run->out.reason = Reason::kNoMacroMatch;
  run->out.detail = "no macros are registered";
  local_tier_done(run);
}

void Router::local_tier_done(const std::shared_ptr<LocalRun>& run) {
  Decision& d = run->plan.d;
  LocalOutcome& local = run->out;
  d.stages.push_back({"local", ms_since(run->t0)});
  run->plan.last_prompt = std::move(local.prompt);
  d.local_tries.push_back(
      {static_cast<int>(run->tier), config_->tiers[run->tier].name, local.reason, d.confidence, d.label, d.macro});
  d.local_tier = static_cast<int>(run->tier);
  run->plan.escalate_now = local.reason.has_value();
  if (local.reason) {
    d.reason = local.reason;
    d.reason_detail = local.detail;
    if (climbs_locally(*local.reason) && run->tier + 1 < local_tiers_) {
      ++run->tier;
      return local_tier(run);
    }
  }
  auto done = std::move(run->done);
  done();
}

void Router::call_local(const std::shared_ptr<LocalRun>& run, const GenerationRequest& req, LocalThen then) {
  if (run->client != nullptr) {
    // The steps after a call run on the loop: what they throw goes to the caller, never
    // out of the loop's handler.
    then = [then = std::move(then), failed = run->failed](Result<GenerationResult> result) {
      try {
        then(std::move(result));
      } catch (...) {
        failed(std::current_exception());
      }
    };
  }
  generate_on_tier(
      run->tier, 0, req, run->plan.d, run->client,
      make_error(ErrorCode::kUnavailable, "tier '" + config_->tiers.at(run->tier).name + "' has no models"),
      std::move(then));
}

void Router::generate_on_tier(std::size_t tier_index, std::size_t model_index, const GenerationRequest& req,
                              Decision& d, const http::Client* client, Status last, LocalThen then) {
  const TierConfig& tier = config_->tiers.at(tier_index);
  for (; model_index < tier.models.size(); ++model_index) {
    auto attempt = std::make_shared<TierAttempt>();
    Status refused;
    Backend* backend = begin_attempt(tier_index, tier.models[model_index], *attempt, refused);
    if (backend == nullptr) {
      last = refused;
      d.tiers.push_back(std::move(*attempt));
      continue;
    }
    auto next = [this, tier_index, model_index, &req, &d, client, attempt, backend, t0 = Clock::now(),
                 then](Result<GenerationResult> result) mutable {
      end_attempt(d.request_id, *attempt, *backend, t0, result);
      d.tiers.push_back(std::move(*attempt));
      if (result.ok()) return then(std::move(result));
      generate_on_tier(tier_index, model_index + 1, req, d, client, result.status(), std::move(then));
    };
    // No loop, or not a backend of the loop (locals_async() was false): the blocking call.
    if (client == nullptr || !backend->generate_async(req, *client, {}, next)) next(backend->generate(req));
    return;
  }
  then(std::move(last));
}

void Router::finish_choice(const LocalRun& run, const std::string& key, const std::vector<std::string>& choices,
                           const std::function<std::string(std::string_view)>& prompt_for, GenerationResult& g) {
  prepend_prefix(g, run.prefix);
  if (run.prefix.empty() || run.task.calibration != "content_free") return;
  const bool calibrated =
      calibrate_choice(run.tier, run.task.name + "/" + key, choices, run.prefix, run.gen, prompt_for, g);
  run.plan.d.validators.push_back({"calibration", true, std::nullopt,
                                   calibrated ? "content-free calibration applied" : "calibration not applicable"});
}

void Router::validate_local(ValidationContext& ctx, Decision& d, LocalOutcome& out) const {
  auto t0 = Clock::now();
  ctx.calibration = fitted_for(*ctx.task, d, out.tier);
  for (auto& v : run_validators(ctx)) d.validators.push_back(std::move(v));
  if (ctx.measured_confidence) {
    d.measured_confidence = ctx.measured_confidence;
    d.confidence = ctx.confidence;
  }
  d.stages.push_back({"validate", ms_since(t0)});
  d.local_json_valid = ctx.answer.has_value();
  for (const auto& v : d.validators)
    if ((v.validator == "parse" || v.validator == "json_schema") && !v.passed) d.local_json_valid = false;
  if (ctx.hard_stop) d.hard_stop = ctx.hard_stop;
  out.reason = first_failure_reason(d.validators);
  if (!out.reason) return;
  for (const auto& v : d.validators)
    if (!v.passed && v.reason == out.reason) {
      out.detail = v.validator + ": " + v.detail;
      break;
    }
}

void Router::classify_call(const std::shared_ptr<LocalRun>& run) {
  const TaskConfig& task = run->task;
  GenerationRequest& req = run->gen;
  req = GenerationRequest{};
  req.prompt = render_task_prompt(task, run->input());
  run->out.prompt = *req.prompt;
  if (task.output_schema) req.json_schema = *task.output_schema;
  run->prefix.clear();
  if (task.kind == TaskKind::kClassify) {
    if (local_takes_prefix(run->tier)) {
      run->prefix = closed_choice_prefix("label");
      *req.prompt += " " + run->prefix;
      req.gbnf_grammar = closed_choice_tail_grammar(task.labels);
      req.top_logprobs = static_cast<int>(task.labels.size()) + 4;
    } else {
      req.gbnf_grammar = closed_choice_grammar("label", task.labels);
    }
  }
  req.max_tokens = task.max_tokens;
  req.timeout = request_timeout(*config_, config_->tiers[run->tier]);
  call_local(run, req, [this, run](Result<GenerationResult> gen) { classify_answer(run, std::move(gen)); });
}

void Router::classify_answer(const std::shared_ptr<LocalRun>& run, Result<GenerationResult> gen) {
  const TaskConfig& task = run->task;
  Decision& d = run->plan.d;
  LocalOutcome& out = run->out;
  if (gave_no_answer(gen.status(), d, out)) return local_tier_done(run);
  finish_choice(
      *run, "label", task.labels, [&](std::string_view cf) { return render_task_prompt(task, cf) + " " + run->prefix; },
      *gen);
  d.local_ran = true;
  d.local_answer_text = gen->text;

  const std::string& input = run->input();
  ValidationContext ctx;
  ctx.config = config_.get();
  ctx.task = &task;
  ctx.input = input;
  ctx.original_input = out.original_input.empty() ? std::string_view(input) : out.original_input;
  ctx.generation = &gen.value();
  ctx.schema = task.output_schema ? &*task.output_schema : nullptr;
  ctx.scanner = scanner_.get();
  if (auto e = evidence_.find(task.name); e != evidence_.end()) ctx.evidence = e->second.get();
  if (task.kind == TaskKind::kClassify) ctx.confidence = json_value_confidence(*gen, "label");

  validate_local(ctx, d, out);
  d.confidence = ctx.confidence;
  d.local_answer = ctx.answer;
  if (ctx.answer && ctx.answer->is_object() && ctx.answer->contains("label") && (*ctx.answer)["label"].is_string())
    d.label = (*ctx.answer)["label"].get<std::string>();
  local_tier_done(run);
}

namespace {
std::vector<std::string> macro_choices(const std::vector<MacroConfig>& macros) {
  std::vector<std::string> ids;
  for (const auto& m : macros) ids.push_back(m.id);
  ids.push_back("none");
  return ids;
}
}  // namespace

// Step 1 of route_macro: a closed choice of macro ids; its probability is the confidence.
void Router::macro_choice_call(const std::shared_ptr<LocalRun>& run) {
  const auto ids = macro_choices(config_->macros);
  GenerationRequest& choose = run->gen;
  choose = GenerationRequest{};
  choose.prompt = render_macro_choice_prompt(run->task, config_->macros, run->input());
  run->prefix.clear();
  if (local_takes_prefix(run->tier)) {
    run->prefix = closed_choice_prefix("macro");
    *choose.prompt += " " + run->prefix;
    choose.gbnf_grammar = closed_choice_tail_grammar(ids);
    choose.top_logprobs = static_cast<int>(ids.size()) + 4;
  } else {
    choose.gbnf_grammar = closed_choice_grammar("macro", ids);
  }
  choose.json_schema = nlohmann::json{{"type", "object"},
                                      {"additionalProperties", false},
                                      {"required", {"macro"}},
                                      {"properties", {{"macro", {{"type", "string"}, {"enum", ids}}}}}};
  choose.max_tokens = 48;
  choose.timeout = request_timeout(*config_, config_->tiers[run->tier]);
  run->out.prompt = *choose.prompt;
  call_local(run, choose, [this, run](Result<GenerationResult> pick) { macro_choice_answer(run, std::move(pick)); });
}

void Router::macro_choice_answer(const std::shared_ptr<LocalRun>& run, Result<GenerationResult> pick) {
  const TaskConfig& task = run->task;
  const auto& macros = config_->macros;
  Decision& d = run->plan.d;
  LocalOutcome& out = run->out;
  if (gave_no_answer(pick.status(), d, out)) return local_tier_done(run);
  finish_choice(
      *run, "macro", macro_choices(macros),
      [&](std::string_view cf) { return render_macro_choice_prompt(task, macros, cf) + " " + run->prefix; }, *pick);
  d.local_ran = true;
  d.local_answer_text = pick->text;
  std::string macro_id;
  try {
    auto j = nlohmann::json::parse(pick->text);
    if (j.is_object() && j.contains("macro") && j["macro"].is_string()) macro_id = j["macro"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  d.confidence = json_value_confidence(*pick, "macro");
  const MacroConfig* macro = config_->find_macro(macro_id);
  if (!macro) {
    d.local_json_valid = macro_id == "none";
    d.local_answer = nlohmann::json{{"macro", macro_id.empty() ? nlohmann::json() : nlohmann::json(macro_id)}};
    d.validators.push_back({"macro_choice", false, macro_id == "none" ? Reason::kNoMacroMatch : Reason::kSchemaInvalid,
                            macro_id == "none" ? "the local model chose no macro"
                                               : "answer is not one of the registered macros: " + pick->text});
    out.reason = d.validators.back().reason;
    out.detail = d.validators.back().detail;
    return local_tier_done(run);
  }
  d.macro = macro->id;
  run->macro = macro;
  run->pick = std::move(pick).value();

  // Step 2: the macro's arguments, every free value drawn from the input.
  const std::string& input = run->input();
  const std::string grammar = macro_args_grammar(macro->input_schema, input);
  if (grammar.empty()) {
    d.local_json_valid = true;
    d.local_answer = nlohmann::json{{"macro", macro->id}};
    d.validators.push_back({"grounding", false, Reason::kArgsUngrounded,
                            "the input states no value for a required argument of " + macro->id});
    out.reason = Reason::kArgsUngrounded;
    out.detail = d.validators.back().detail;
    return local_tier_done(run);
  }
  GenerationRequest fill;
  fill.prompt = render_macro_args_prompt(task, macros, input, macro->id);
  fill.gbnf_grammar = grammar;
  fill.json_schema = macro->input_schema;
  fill.max_tokens = std::max(task.max_tokens, 96);
  fill.timeout = run->gen.timeout;
  out.prompt = *fill.prompt;
  run->gen = std::move(fill);
  call_local(run, run->gen, [this, run](Result<GenerationResult> args) { macro_args_answer(run, std::move(args)); });
}

void Router::macro_args_answer(const std::shared_ptr<LocalRun>& run, Result<GenerationResult> args) {
  const TaskConfig& task = run->task;
  const MacroConfig* macro = run->macro;
  Decision& d = run->plan.d;
  LocalOutcome& out = run->out;
  if (gave_no_answer(args.status(), d, out)) return local_tier_done(run);
  d.local_answer_text = run->pick.text + "\n" + args->text;

  const std::string& input = run->input();
  ValidationContext ctx;
  ctx.config = config_.get();
  ctx.task = &task;
  ctx.input = input;
  ctx.generation = &args.value();
  ctx.schema = &macro->input_schema;
  ctx.scanner = scanner_.get();
  ctx.macro = macro;
  // The decision is as sure as its weakest part: the macro choice or any argument value.
  char part[96];
  std::snprintf(part, sizeof part, "macro=%.3f", d.confidence.value_or(-1.0));
  std::string parts = part;
  for (const auto& name : argument_order(macro->input_schema)) {
    auto c = json_value_confidence(*args, name);
    if (!c) continue;
    std::snprintf(part, sizeof part, " %s=%.3f", name.c_str(), *c);
    parts += part;
    if (!d.confidence || *c < *d.confidence) d.confidence = c;
  }
  d.validators.push_back({"confidence_parts", true, std::nullopt, parts});
  ctx.confidence = d.confidence;
  validate_local(ctx, d, out);
  if (ctx.answer && ctx.answer->is_object()) d.args = apply_schema_defaults(macro->input_schema, *ctx.answer);
  d.local_answer = nlohmann::json{{"macro", macro->id}, {"args", d.args}};
  local_tier_done(run);
}

bool Router::calibrate_choice(std::size_t tier, const std::string& cache_key, const std::vector<std::string>& choices,
                              const std::string& prefix, const GenerationRequest& like,
                              const std::function<std::string(std::string_view)>& prompt_for, GenerationResult& g) {
  auto dist = choice_distribution(g, 1, choices);  // token 0 is the prefix
  if (!dist) return false;
  Backend* backend = nullptr;
  for (const auto& name : config_->tiers[tier].models) {
    auto b = backends_.find(name);
    if (b != backends_.end()) {
      backend = b->second.get();
      break;
    }
  }
  if (!backend) return false;
  auto prior = priors_.get(config_->tiers[tier].name + "/" + cache_key, choices,
                           [&](const std::string& cf) -> std::optional<ChoiceProbs> {
                             GenerationRequest r = like;
                             r.prompt = prompt_for(cf);
                             auto out = backend->generate(r);
                             if (!out.ok()) return std::nullopt;
                             prepend_prefix(*out, prefix);
                             return choice_distribution(*out, 1, choices);
                           });
  if (!prior) return false;
  auto [choice, prob] = best_choice(calibrate(*dist, *prior, choices));
  if (choice.empty() || prob <= 0.0) return false;
  rewrite_choice(g, prefix, choice, prob);
  return true;
}

const FittedCalibration* Router::fitted_for(const TaskConfig& task, const Decision& d, std::size_t tier) const {
  for (auto it = d.tiers.rbegin(); it != d.tiers.rend(); ++it) {
    const TierAttempt& t = *it;
    if (t.tier != static_cast<int>(tier) || !t.ok) continue;
    auto m = fitted_.find(t.model_name);
    if (m == fitted_.end()) return nullptr;
    auto f = m->second.find(task.name);
    return f == m->second.end() ? nullptr : &f->second;
  }
  return nullptr;
}

void Router::restart_local(Decision& d) {
  d.validators.clear();
  d.local_answer.reset();
  d.local_answer_text.clear();
  d.local_json_valid = false;
  d.confidence.reset();
  d.measured_confidence.reset();
  d.label.clear();
  d.macro.clear();
  d.args = nullptr;
  d.reason.reset();
  d.reason_detail.clear();
}

bool Router::local_takes_prefix(std::size_t tier) const {
  // The embedded backend continues a raw prompt exactly; chat servers may not.
  for (const auto& name : config_->tiers[tier].models) {
    auto it = backends_.find(name);
    if (it != backends_.end()) return it->second->continues_raw_prompt();
  }
  return false;
}

}  // namespace ladder
