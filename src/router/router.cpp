#include "router/router.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include <spdlog/spdlog.h>

#include "audit/record.h"
#include "audit/redact.h"
#include "backends/factory.h"
#include "ladder/utf8.h"
#include "policy/hard_stops.h"
#include "router/decision_json.h"
#include "router/fitted_calibration.h"
#include "router/grammar.h"
#include "router/input_reduction.h"
#include "router/prompt.h"
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

class DroppingSink : public AuditSink {
 public:
  Status write(const nlohmann::json&) override { return {}; }
  Status flush() override { return {}; }
};

}  // namespace

struct Router::LocalOutcome {
  std::size_t tier = 0;          // the local tier asked
  std::optional<Reason> reason;  // set when the local answer cannot be accepted
  std::string detail;
  std::string prompt;               // the last prompt sent, for the audit record when asked for
  std::string_view original_input;  // the request's input when the local model read a reduction
};

Router::~Router() = default;

Result<std::unique_ptr<Router>> Router::create(ConfigPtr config, std::unique_ptr<AuditSink> audit,
                                               RouterOptions options) {
  if (!config) return make_error(ErrorCode::kInvalidArgument, "router needs a config");
  if (config->tiers.empty()) return make_error(ErrorCode::kConfigInvalid, "policy has no tiers");
  std::unique_ptr<Router> router(new Router());
  router->config_ = std::move(config);
  router->audit_ = audit ? std::move(audit) : std::make_unique<DroppingSink>();
  router->options_ = std::move(options);
  if (!router->options_.backend_factory) router->options_.backend_factory = make_backend;

  auto scanner = HardStopScanner::create(router->config_->hard_stops);
  if (!scanner.ok()) return scanner.status();
  router->scanner_ = std::move(scanner).value();
  while (router->local_tiers_ < router->config_->tiers.size() && router->config_->tiers[router->local_tiers_].local)
    ++router->local_tiers_;
  router->local_tiers_ = std::max<std::size_t>(router->local_tiers_, 1);
  auto fitted = load_fitted_calibrations(*router->config_);
  if (!fitted.ok()) return fitted.status();
  router->fitted_ = std::move(fitted).value();
  if (const std::string& env = router->config_->audit.replay_key_env; !env.empty()) {
    // Start-up fails rather than run without sealing what the policy says to seal.
    auto key = audit::seal_key_from_env(env);
    if (!key.ok()) return make_error(ErrorCode::kConfigInvalid, "audit.replay.key_env: " + key.status().message());
    router->replay_key_ = std::move(key).value();
  }
  if (router->config_->rotation)
    if (Status built = router->build_candidate(); !built.ok()) return built;

  for (const auto& tier : router->config_->tiers) {
    for (const auto& name : tier.models) {
      if (router->backends_.count(name) || router->backend_errors_.count(name)) continue;
      auto it = router->config_->models.find(name);
      if (it == router->config_->models.end()) {
        router->backend_errors_[name] = make_error(ErrorCode::kConfigInvalid, "no model '" + name + "'");
        continue;
      }
      auto backend = router->options_.backend_factory(it->second);
      if (backend.ok()) {
        router->backends_[name] = std::move(backend).value();
        router->health_[name] = std::make_unique<BackendHealth>(router->config_->health);
        // A slow in-process model is busy, not gone: only its probe (model loaded) counts.
        if (it->second.backend == "embedded") router->probe_only_.insert(name);
      } else {
        spdlog::warn("model '{}' unavailable: {}", name, backend.status().to_string());
        router->backend_errors_[name] = backend.status();
      }
    }
  }
  router->escalates_async_ = true;
  for (std::size_t tier = router->local_tiers_; tier < router->config_->tiers.size(); ++tier)
    for (const auto& name : router->config_->tiers[tier].models) {
      auto built = router->backends_.find(name);
      if (built != router->backends_.end() && !built->second->generates_async()) router->escalates_async_ = false;
    }
  return router;
}

int Router::local_parallelism() const {
  int n = 0;
  for (const auto& name : config_->tiers[0].models) {
    auto it = backends_.find(name);
    if (it == backends_.end()) continue;
    const int p = std::max(1, it->second->parallel_calls());
    n = n == 0 ? p : std::min(n, p);
  }
  return std::max(1, n);
}

std::vector<std::string> Router::model_names() const {
  std::vector<std::string> names;
  for (const auto& tier : config_->tiers)
    for (const auto& name : tier.models)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

Status Router::check_health(const std::string& model_name) {
  auto bit = backends_.find(model_name);
  if (bit == backends_.end()) {
    auto eit = backend_errors_.find(model_name);
    return eit != backend_errors_.end() ? eit->second
                                        : make_error(ErrorCode::kNotFound, "no model '" + model_name + "'");
  }
  Status status = bit->second->health();
  record_health(model_name, status, /*probe=*/true);
  return status;
}

void Router::record_health(const std::string& model_name, const Status& outcome, bool probe) {
  auto it = health_.find(model_name);
  if (it == health_.end() || (!probe && probe_only_.count(model_name))) return;
  const BackendHealth::Change change = it->second->record(outcome);
  if (change == BackendHealth::Change::kNone) return;
  const bool up = change == BackendHealth::Change::kMarkedUp;
  if (up) {
    spdlog::info("model '{}' is up again", model_name);
  } else {
    spdlog::warn("model '{}' marked down after {} failures in a row; last: {}", model_name,
                 it->second->consecutive_failures(), outcome.to_string());
  }
  if (options_.on_health_change) options_.on_health_change(model_name, up, outcome);
}

bool Router::healthy(const std::string& model_name) const {
  auto it = health_.find(model_name);
  return it != health_.end() && it->second->up();
}

ErrorCode Router::last_failure(const std::string& model_name) const {
  auto it = health_.find(model_name);
  return it == health_.end() ? ErrorCode::kOk : it->second->last_failure();
}

Status Router::admit(const std::string& model_name, AttemptSkip& skip) {
  skip = AttemptSkip::kNone;
  if (!backends_.count(model_name)) {
    skip = AttemptSkip::kNotBuilt;
    auto eit = backend_errors_.find(model_name);
    return eit != backend_errors_.end() ? eit->second
                                        : make_error(ErrorCode::kUnavailable, "model '" + model_name + "' not built");
  }
  BackendHealth& health = *health_.at(model_name);
  const BackendHealth::Admission admission = health.admit();
  if (admission.allowed) return {};
  skip = AttemptSkip::kMarkedDown;
  Status refused =
      make_error(ErrorCode::kUnavailable,
                 "model '" + model_name + "' is marked down after " + std::to_string(health.consecutive_failures()) +
                     " failures in a row (last: " + std::string(error_name(health.last_failure())) +
                     "); next trial in " + std::to_string(admission.retry_in.count()) + " ms");
  refused.set_retry_after(admission.retry_in);
  return refused;
}

Result<GenerationResult> Router::generate_direct(const std::string& model_name, const GenerationRequest& request,
                                                 const DeltaFn* on_delta) {
  if (!backends_.count(model_name) && !backend_errors_.count(model_name))
    return make_error(ErrorCode::kNotFound, "no model '" + model_name + "'");
  AttemptSkip skip;
  if (Status refused = admit(model_name, skip); !refused.ok()) return refused;
  Backend& backend = *backends_.at(model_name);
  auto result = on_delta ? backend.generate_stream(request, *on_delta) : backend.generate(request);
  record_health(model_name, result.status(), /*probe=*/false);
  return result;
}

bool Router::forwards(const std::string& model_name, WireApi api) const {
  auto it = backends_.find(model_name);
  return it != backends_.end() && it->second && it->second->forwards(api);
}

Result<ForwardReply> Router::forward_direct(const std::string& model_name, const ForwardRequest& request,
                                            const ChunkFn& on_chunk) {
  if (!backends_.count(model_name)) return make_error(ErrorCode::kNotFound, "no model '" + model_name + "'");
  AttemptSkip skip;
  if (Status refused = admit(model_name, skip); !refused.ok()) return refused;
  auto result = backends_.at(model_name)->forward(request, on_chunk);
  record_health(model_name, result.status(), /*probe=*/false);
  return result;
}

bool Router::forward_direct_async(const std::string& model_name, const ForwardRequest& request,
                                  const http::Client& client, ChunkFn on_chunk, ForwardDoneFn done) {
  auto backend = backends_.find(model_name);
  if (backend == backends_.end() || !backend->second->forwards_async(request.api)) return false;
  AttemptSkip skip;
  if (Status refused = admit(model_name, skip); !refused.ok()) {
    done(refused);
    return true;
  }
  return backend->second->forward_async(request, client, std::move(on_chunk),
                                        [this, model_name, done = std::move(done)](Result<ForwardReply> result) {
                                          record_health(model_name, result.status(), /*probe=*/false);
                                          done(std::move(result));
                                        });
}

Status Router::audit_outcome(const std::string& request_id, const Status& written) const {
  if (written.ok()) return written;
  spdlog::error("audit write failed for {}: {}", request_id, written.to_string());
  if (!config_->audit.fail_closed) return {};
  return make_error(ErrorCode::kAuditUnavailable,
                    "the audit record of this request could not be written, and the policy answers no request "
                    "without one (audit.on_failure: closed)");
}

namespace {
std::string record_id(const nlohmann::json& record) {
  const auto id = record.find("request_id");
  return id != record.end() && id->is_string() ? id->get<std::string>() : "";
}
}  // namespace

Status Router::write_audit(const nlohmann::json& record) {
  return audit_outcome(record_id(record), audit_->write(record));
}

void Router::write_audit_async(nlohmann::json record, std::function<void(Status)> done) {
  std::string id = record_id(record);
  audit_->write_async(std::move(record), [this, id = std::move(id), done = std::move(done)](Status written) {
    done(audit_outcome(id, written));
  });
}

Backend* Router::begin_attempt(std::size_t tier_index, const std::string& name, TierAttempt& attempt, Status& refused) {
  attempt = TierAttempt{};
  attempt.tier = static_cast<int>(tier_index);
  attempt.tier_name = config_->tiers.at(tier_index).name;
  attempt.model_name = name;
  auto mit = config_->models.find(name);
  if (mit != config_->models.end()) attempt.backend = mit->second.backend;
  refused = admit(name, attempt.skipped);
  if (!refused.ok()) {
    attempt.error = refused;
    return nullptr;
  }
  return backends_.at(name).get();
}

void Router::end_attempt(const std::string& request_id, TierAttempt& attempt, const Backend& backend,
                         Clock::time_point t0, const Result<GenerationResult>& result) {
  attempt.latency_ms = ms_since(t0);
  attempt.model = backend.model();
  record_health(attempt.model_name, result.status(), /*probe=*/false);
  if (!result.ok()) {
    // The whole message (URLs, the upstream's words) goes to the log and the audit
    // record; clients read public_attempt_error().
    spdlog::warn("{}: model '{}' of tier '{}' failed: {}", request_id, attempt.model_name, attempt.tier_name,
                 result.status().to_string());
    attempt.error = result.status();
    return;
  }
  attempt.ok = true;
  attempt.attempts = result->attempts;
  attempt.prompt_tokens = result->prompt_tokens;
  attempt.completion_tokens = result->completion_tokens;
  attempt.cached_prompt_tokens = result->cached_prompt_tokens;
  if (!result->model.empty()) attempt.model = result->model;
}

Result<GenerationResult> Router::generate_on_tier(std::size_t tier_index, const GenerationRequest& req, Decision& d,
                                                  const DeltaFn* on_delta, bool* streamed) {
  const TierConfig& tier = config_->tiers.at(tier_index);
  Status last = make_error(ErrorCode::kUnavailable, "tier '" + tier.name + "' has no models");
  for (const auto& name : tier.models) {
    TierAttempt attempt;
    Status refused;
    Backend* backend = begin_attempt(tier_index, name, attempt, refused);
    if (backend == nullptr) {
      last = refused;
      d.tiers.push_back(std::move(attempt));
      continue;
    }
    auto t0 = Clock::now();
    bool delivered = false;
    auto result = on_delta ? backend->generate_stream(req,
                                                      [&](std::string_view delta) {
                                                        delivered = true;
                                                        return (*on_delta)(delta);
                                                      })
                           : backend->generate(req);
    if (streamed) *streamed = delivered;
    end_attempt(d.request_id, attempt, *backend, t0, result);
    d.tiers.push_back(std::move(attempt));
    if (result.ok()) return result;
    last = result.status();
    if (delivered) return last;  // part of the answer reached the caller: no fallback
  }
  return last;
}

Result<GenerationResult> Router::generate_choice(std::size_t tier, const TaskConfig& task, const std::string& key,
                                                 const std::vector<std::string>& choices, const std::string& prefix,
                                                 const GenerationRequest& req,
                                                 const std::function<std::string(std::string_view)>& prompt_for,
                                                 Decision& d) {
  auto gen = generate_on_tier(tier, req, d);
  if (!gen.ok()) return gen;
  prepend_prefix(*gen, prefix);
  if (!prefix.empty() && task.calibration == "content_free") {
    const bool calibrated = calibrate_choice(tier, task.name + "/" + key, choices, prefix, req, prompt_for, *gen);
    d.validators.push_back({"calibration", true, std::nullopt,
                            calibrated ? "content-free calibration applied" : "calibration not applicable"});
  }
  return gen;
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

void Router::run_classify_like(const TaskConfig& task, const std::string& input, Decision& d, LocalOutcome& out) {
  GenerationRequest req;
  req.prompt = render_task_prompt(task, input);
  out.prompt = *req.prompt;
  if (task.output_schema) req.json_schema = *task.output_schema;
  std::string prefix;
  if (task.kind == TaskKind::kClassify) {
    if (local_takes_prefix(out.tier)) {
      prefix = closed_choice_prefix("label");
      *req.prompt += " " + prefix;
      req.gbnf_grammar = closed_choice_tail_grammar(task.labels);
      req.top_logprobs = static_cast<int>(task.labels.size()) + 4;
    } else {
      req.gbnf_grammar = closed_choice_grammar("label", task.labels);
    }
  }
  req.max_tokens = task.max_tokens;
  req.timeout = request_timeout(*config_, config_->tiers[out.tier]);

  auto gen = generate_choice(
      out.tier, task, "label", task.labels, prefix, req,
      [&](std::string_view cf) { return render_task_prompt(task, cf) + " " + prefix; }, d);
  if (!gen.ok()) {
    out.reason = Reason::kLocalUnavailable;
    out.detail = local_failure_detail(d, gen.status());
    return;
  }
  d.local_ran = true;
  d.local_answer_text = gen->text;

  ValidationContext ctx;
  ctx.config = config_.get();
  ctx.task = &task;
  ctx.input = input;
  ctx.original_input = out.original_input.empty() ? std::string_view(input) : out.original_input;
  ctx.generation = &gen.value();
  ctx.schema = task.output_schema ? &*task.output_schema : nullptr;
  ctx.scanner = scanner_.get();
  if (task.kind == TaskKind::kClassify) ctx.confidence = json_value_confidence(*gen, "label");

  validate_local(ctx, d, out);
  d.confidence = ctx.confidence;
  d.local_answer = ctx.answer;
  if (ctx.answer && ctx.answer->is_object() && ctx.answer->contains("label") && (*ctx.answer)["label"].is_string())
    d.label = (*ctx.answer)["label"].get<std::string>();
}

void Router::run_route_macro(const TaskConfig& task, const std::string& input, Decision& d, LocalOutcome& out) {
  const auto& macros = config_->macros;
  std::vector<std::string> ids;
  for (const auto& m : macros) ids.push_back(m.id);
  ids.push_back("none");

  // Step 1: a closed choice of macro ids; its probability is the confidence.
  GenerationRequest choose;
  choose.prompt = render_macro_choice_prompt(task, macros, input);
  std::string prefix;
  if (local_takes_prefix(out.tier)) {
    prefix = closed_choice_prefix("macro");
    *choose.prompt += " " + prefix;
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
  choose.timeout = request_timeout(*config_, config_->tiers[out.tier]);
  out.prompt = *choose.prompt;
  auto pick = generate_choice(
      out.tier, task, "macro", ids, prefix, choose,
      [&](std::string_view cf) { return render_macro_choice_prompt(task, macros, cf) + " " + prefix; }, d);
  if (!pick.ok()) {
    out.reason = Reason::kLocalUnavailable;
    out.detail = local_failure_detail(d, pick.status());
    return;
  }
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
    return;
  }
  d.macro = macro->id;

  // Step 2: the macro's arguments, every free value drawn from the input.
  const std::string grammar = macro_args_grammar(macro->input_schema, input);
  if (grammar.empty()) {
    d.local_json_valid = true;
    d.local_answer = nlohmann::json{{"macro", macro->id}};
    d.validators.push_back({"grounding", false, Reason::kArgsUngrounded,
                            "the input states no value for a required argument of " + macro->id});
    out.reason = Reason::kArgsUngrounded;
    out.detail = d.validators.back().detail;
    return;
  }
  GenerationRequest fill;
  fill.prompt = render_macro_args_prompt(task, macros, input, macro->id);
  fill.gbnf_grammar = grammar;
  fill.json_schema = macro->input_schema;
  fill.max_tokens = std::max(task.max_tokens, 96);
  fill.timeout = choose.timeout;
  out.prompt = *fill.prompt;
  auto args = generate_on_tier(out.tier, fill, d);
  if (!args.ok()) {
    out.reason = Reason::kLocalUnavailable;
    out.detail = local_failure_detail(d, args.status());
    return;
  }
  d.local_answer_text = pick->text + "\n" + args->text;

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

Router::LocalOutcome Router::run_local(std::size_t tier, const TaskConfig& task, const std::string& input, Decision& d,
                                       std::string_view original) {
  LocalOutcome out;
  out.tier = tier;
  out.original_input = original;
  auto t0 = Clock::now();
  if (task.kind == TaskKind::kRouteMacro) {
    if (config_->macros.empty()) {
      out.reason = Reason::kNoMacroMatch;
      out.detail = "no macros are registered";
    } else {
      run_route_macro(task, input, d, out);
    }
  } else {
    run_classify_like(task, input, d, out);
  }
  d.stages.push_back({"local", ms_since(t0)});
  return out;
}

void Router::run_local_tiers(const RouteRequest& req, RoutePlan& p) {
  if (!p.local_pending) return;
  p.local_pending = false;
  Decision& d = p.d;
  const TaskConfig& task = *p.task;
  auto t0 = Clock::now();
  d.reduction = reduce_task_input(task, req.input);
  if (d.reduction) d.stages.push_back({"reduce", ms_since(t0)});
  // Each local tier in turn; the next is asked only when this one was unsure.
  for (std::size_t tier = 0; tier < local_tiers_; ++tier) {
    if (tier > 0) restart_local(d);
    LocalOutcome local =
        d.reduction ? run_local(tier, task, d.reduction->text, d, req.input) : run_local(tier, task, req.input, d);
    p.last_prompt = std::move(local.prompt);
    d.local_tries.push_back(
        {static_cast<int>(tier), config_->tiers[tier].name, local.reason, d.confidence, d.label, d.macro});
    d.local_tier = static_cast<int>(tier);
    p.escalate_now = local.reason.has_value();
    if (!local.reason) break;
    d.reason = local.reason;
    d.reason_detail = local.detail;
    if (!climbs_locally(*local.reason)) break;
  }
  // After the live tiers, not beside them: two in-process models computing at once slow
  // each other down, and the live one must not miss its budget for the candidate's sake.
  if (!shadows(p)) return;
  t0 = Clock::now();
  d.candidate = run_candidate(req, d.request_id);
  d.stages.push_back({"candidate", ms_since(t0)});  // what the shadow added to this request
}

}  // namespace ladder
