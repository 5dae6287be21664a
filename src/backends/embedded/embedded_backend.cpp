// llama.cpp in-process backend. See embedded_backend.h for the contract.
//
// Thread safety: one EmbeddedBackend owns one llama_context; `mutex_` serialises
// generate() and generate_stream() calls (one request at a time per backend) and guards
// the context and the record of which tokens sit in its KV cache. generate_stream()
// calls on_delta with the mutex held: a consumer must not call back into the same
// backend. health(), kind() and model() read only state fixed at construction.
#include "backends/embedded/embedded_backend.h"

#include <llama.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "backends/embedded/gbnf.h"
#include "backends/embedded/llama_runtime.h"

namespace ladder {
namespace {

using Clock = std::chrono::steady_clock;

// Grammar-constrained steps examine candidates in descending logit order, in chunks of
// these sizes (the last one covers the whole vocabulary), and stop as soon as the
// probability mass not yet examined is below kRenormTolerance times the allowed mass
// found: the renormalised log-probabilities are then exact to within about
// kRenormTolerance (absolute, in log space), at a fraction of the cost of running the
// grammar over all 262k tokens (about 80 ms a step on one core).
constexpr size_t kChunkSizes[] = {64, 1024, 16384, 65536};
constexpr double kRenormTolerance = 1e-2;
// Prompt tokens are decoded in blocks that start at multiples of this many positions
// (fewer when the context's batch is smaller), and the KV cache is reused in whole blocks
// only. The numerics of a decode depend on how many tokens go into one batch, so a
// prefix reused from a request whose batches were split elsewhere would give slightly
// different probabilities than a cold run. With fixed block boundaries every prompt
// token's K/V is computed in the same batch whatever ran before: the same request gets
// bit-identical logits cold, warm and after other requests.
constexpr int kPromptBlock = 64;
// Start rule wrapped around grammars derived from a JSON Schema.
constexpr const char* kJsonRootRule = "ladder-json-root";

// llama.cpp logs through one global callback; keep errors only, and do not print them:
// an aborted decode (a timeout) is an expected outcome reported by its Status. Errors
// logged on this thread since the last clear() are collected so that failures (a grammar
// that does not parse) can say why.
thread_local std::string t_last_llama_error;
constexpr size_t kMaxErrorText = 600;

void llama_log_callback(ggml_log_level level, const char* text, void* /*user_data*/) {
  if (level != GGML_LOG_LEVEL_ERROR) return;
  std::string line = text;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.empty() || t_last_llama_error.size() >= kMaxErrorText) return;
  if (!t_last_llama_error.empty()) t_last_llama_error += "; ";
  t_last_llama_error += line.substr(0, kMaxErrorText - std::min(kMaxErrorText, t_last_llama_error.size()));
}

// The log callback goes in first, so that it also sees what loading the backends logs.
Status init_llama_once() {
  static std::once_flag once;
  std::call_once(once, [] { llama_log_set(llama_log_callback, nullptr); });
  return init_llama_runtime();
}

struct ModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextDeleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
struct SamplerDeleter {
  void operator()(llama_sampler* s) const { llama_sampler_free(s); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

// The text ends (before trailing whitespace) in a character that closes a JSON value.
bool json_value_closed(const std::string& text) {
  auto it = std::find_if(text.rbegin(), text.rend(), [](unsigned char c) { return std::isspace(c) == 0; });
  return it != text.rend() && (*it == '}' || *it == ']' || *it == '"');
}

// Bytes at the end of `text` that begin a multi-byte UTF-8 character whose remaining
// bytes have not been seen yet (0 when the text ends on a character boundary, or in
// bytes that no continuation could make valid: those pass through as they are).
size_t incomplete_utf8_tail(std::string_view text) {
  const size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    const auto c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back for the lead
    const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

bool is_whitespace_only(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

class EmbeddedBackend final : public Backend {
 public:
  EmbeddedBackend(ModelPtr model, ContextPtr ctx, std::string model_id)
      : model_(std::move(model)),
        ctx_(std::move(ctx)),
        vocab_(llama_model_get_vocab(model_.get())),
        n_vocab_(llama_vocab_n_tokens(vocab_)),
        n_ctx_(static_cast<int>(llama_n_ctx(ctx_.get()))),
        n_batch_(static_cast<int>(llama_n_batch(ctx_.get()))),
        block_(static_cast<size_t>(std::clamp(n_batch_, 1, kPromptBlock))),
        model_id_(std::move(model_id)) {
    if (const char* tmpl = llama_model_chat_template(model_.get(), nullptr)) chat_template_ = tmpl;
    candidates_.resize(static_cast<size_t>(n_vocab_));
    // Decode aborts (rc 2) once the current request's deadline passes.
    llama_set_abort_callback(ctx_.get(), &EmbeddedBackend::abort_callback, this);
  }

  Result<GenerationResult> generate(const GenerationRequest& request) override { return run(request, nullptr); }
  // Each token's text as soon as it is decoded, whole UTF-8 characters only (bytes of a
  // character split across tokens wait for the rest); on_delta returning false ends
  // generation ("cancelled", the text being what was delivered); inter_token_timeout
  // bounds the time between deltas (kTimeout), also inside a long decode.
  Result<GenerationResult> generate_stream(const GenerationRequest& request, const DeltaFn& on_delta) override {
    return run(request, &on_delta);
  }
  Status health() override {
    if (!model_ || !ctx_) return make_error(ErrorCode::kUnavailable, "embedded model not loaded");
    return Status::ok_status();
  }
  std::string kind() const override { return "embedded"; }
  bool continues_raw_prompt() const override { return true; }
  int parallel_calls() const override { return 1; }  // mutex_ serialises every call
  std::string model() const override { return model_id_; }

  // Deadline checked by llama.cpp between compute graph nodes (CPU backend).
  static bool abort_callback(void* data) {
    auto* self = static_cast<EmbeddedBackend*>(data);
    const auto ns = self->deadline_ns_.load(std::memory_order_relaxed);
    return ns != 0 && Clock::now().time_since_epoch().count() > ns;
  }

 private:
  // generate() (on_delta null) and generate_stream().
  Result<GenerationResult> run(const GenerationRequest& request, const DeltaFn* on_delta);

  struct StepChoice {
    llama_token token = -1;
    bool stop_grammar_complete = false;  // grammar accepts here and the model wants to end
    TokenLogprob logprob;
  };

  Result<std::string> render_prompt(const GenerationRequest& request) const;
  Result<std::vector<llama_token>> tokenize(const std::string& text, bool parse_special) const;
  std::string piece(llama_token token) const;
  // Decodes tokens[from..] at positions from.., logits for the last one only, in batches
  // ending at multiples of block_ (from must be one, or tokens.size() - 1 for one token).
  Status decode_from(const std::vector<llama_token>& tokens, size_t from);
  // Drops KV entries at positions >= pos.
  void truncate_cache(size_t pos);
  void forget_cache();
  StepChoice choose_unconstrained(const float* logits, const GenerationRequest& request);
  // Whether the grammar accepts the text so far (end of generation allowed now).
  bool grammar_accepts_end(llama_sampler* grammar) const;
  // True when all allowed tokens spell prefixes of one string (the text is forced).
  bool forces_one_text(const std::vector<llama_token_data>& allowed) const;
  Result<StepChoice> choose_constrained(const float* logits, const GenerationRequest& request, llama_sampler* grammar);

  ModelPtr model_;
  ContextPtr ctx_;
  const llama_vocab* vocab_;
  const int n_vocab_;
  const int n_ctx_;
  const int n_batch_;
  const size_t block_;  // prompt block size, see kPromptBlock
  const std::string model_id_;
  std::string chat_template_;
  std::atomic<Clock::rep> deadline_ns_{0};

  std::mutex mutex_;                          // guards everything below and all use of ctx_
  std::vector<llama_token> cached_tokens_;    // tokens whose K/V sit in sequence 0
  size_t exact_blocks_end_ = 0;               // cached_tokens_[0, this) were decoded as whole aligned blocks
  std::vector<llama_token_data> candidates_;  // scratch, one per vocabulary entry
};

Result<std::string> EmbeddedBackend::render_prompt(const GenerationRequest& request) const {
  if (request.prompt) return *request.prompt;
  if (request.messages.empty())
    return make_error(ErrorCode::kInvalidArgument, "request has neither prompt nor messages");
  std::vector<llama_chat_message> chat;
  chat.reserve(request.messages.size());
  size_t total = 0;
  for (const auto& m : request.messages) {
    chat.push_back({m.role.c_str(), m.content.c_str()});
    total += m.role.size() + m.content.size();
  }
  if (!chat_template_.empty()) {
    std::string buf(2 * total + 256, '\0');
    int n = llama_chat_apply_template(chat_template_.c_str(), chat.data(), chat.size(), true, buf.data(),
                                      static_cast<int32_t>(buf.size()));
    if (n > static_cast<int>(buf.size())) {
      buf.resize(static_cast<size_t>(n));
      n = llama_chat_apply_template(chat_template_.c_str(), chat.data(), chat.size(), true, buf.data(),
                                    static_cast<int32_t>(buf.size()));
    }
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    // Template not supported by llama_chat_apply_template: fall through to plain text.
  }
  std::string out;
  for (const auto& m : request.messages) {
    std::string role = m.role;
    if (!role.empty()) role[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(role[0])));
    out += role + ": " + m.content + "\n";
  }
  out += "Assistant:";
  return out;
}

Result<std::vector<llama_token>> EmbeddedBackend::tokenize(const std::string& text, bool parse_special) const {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2))
    return make_error(ErrorCode::kPayloadTooLarge, "prompt too large to tokenize");
  std::vector<llama_token> tokens(text.size() + 8);
  int32_t n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                             static_cast<int32_t>(tokens.size()), true, parse_special);
  if (n < 0 && n != std::numeric_limits<int32_t>::min()) {
    tokens.resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                       static_cast<int32_t>(tokens.size()), true, parse_special);
  }
  if (n < 0) return make_error(ErrorCode::kInternal, "llama_tokenize failed");
  tokens.resize(static_cast<size_t>(n));
  return tokens;
}

std::string EmbeddedBackend::piece(llama_token token) const {
  char buf[256];
  int n = llama_token_to_piece(vocab_, token, buf, sizeof(buf), 0, false);
  if (n >= 0) return std::string(buf, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(-n), '\0');
  n = llama_token_to_piece(vocab_, token, big.data(), static_cast<int32_t>(big.size()), 0, false);
  if (n < 0) return {};
  big.resize(static_cast<size_t>(n));
  return big;
}

void EmbeddedBackend::forget_cache() {
  llama_memory_clear(llama_get_memory(ctx_.get()), true);
  cached_tokens_.clear();
  exact_blocks_end_ = 0;
}

void EmbeddedBackend::truncate_cache(size_t pos) {
  if (pos >= cached_tokens_.size()) return;
  if (llama_memory_seq_rm(llama_get_memory(ctx_.get()), 0, static_cast<llama_pos>(pos), -1)) {
    cached_tokens_.resize(pos);
    exact_blocks_end_ = std::min(exact_blocks_end_, pos);
  } else
    forget_cache();
}

Status EmbeddedBackend::decode_from(const std::vector<llama_token>& tokens, size_t from) {
  llama_batch batch = llama_batch_init(n_batch_, 0, 1);
  Status status;
  for (size_t start = from; start < tokens.size();) {
    const size_t end = std::min(tokens.size(), (start / block_ + 1) * block_);
    batch.n_tokens = static_cast<int32_t>(end - start);
    for (size_t i = start; i < end; ++i) {
      const size_t j = i - start;
      batch.token[j] = tokens[i];
      batch.pos[j] = static_cast<llama_pos>(i);
      batch.n_seq_id[j] = 1;
      batch.seq_id[j][0] = 0;
      batch.logits[j] = (i + 1 == tokens.size()) ? 1 : 0;
    }
    const int32_t rc = llama_decode(ctx_.get(), batch);
    if (rc == 2) {
      status = make_error(ErrorCode::kTimeout, "embedded generation timed out during decode");
      break;
    }
    if (rc != 0) {
      status = make_error(ErrorCode::kInternal, "llama_decode failed with code " + std::to_string(rc));
      break;
    }
    cached_tokens_.insert(cached_tokens_.end(), tokens.begin() + static_cast<std::ptrdiff_t>(start),
                          tokens.begin() + static_cast<std::ptrdiff_t>(end));
    // A whole block decoded in one batch, all earlier blocks exact: reusable as it is.
    if (start % block_ == 0 && end - start == block_ && exact_blocks_end_ == start) exact_blocks_end_ = end;
    start = end;
  }
  llama_batch_free(batch);
  if (!status.ok()) forget_cache();  // part of a batch may remain; start clean next time
  return status;
}

EmbeddedBackend::StepChoice EmbeddedBackend::choose_unconstrained(const float* logits,
                                                                  const GenerationRequest& request) {
  float max_logit = -std::numeric_limits<float>::infinity();
  llama_token best = 0;
  for (int i = 0; i < n_vocab_; ++i) {
    if (logits[i] > max_logit) {
      max_logit = logits[i];
      best = i;
    }
  }
  StepChoice choice;
  choice.token = best;
  if (!request.want_logprobs) return choice;
  double sum = 0.0;
  for (int i = 0; i < n_vocab_; ++i) sum += std::exp(static_cast<double>(logits[i] - max_logit));
  const double log_z = static_cast<double>(max_logit) + std::log(sum);
  choice.logprob.token = piece(best);
  choice.logprob.logprob = static_cast<double>(logits[best]) - log_z;
  const size_t k = static_cast<size_t>(std::clamp(request.top_logprobs, 0, n_vocab_));
  if (k > 0) {
    for (int i = 0; i < n_vocab_; ++i) candidates_[static_cast<size_t>(i)] = {i, logits[i], 0.0f};
    auto by_logit = [](const llama_token_data& a, const llama_token_data& b) { return a.logit > b.logit; };
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k), candidates_.end(),
                      by_logit);
    for (size_t i = 0; i < k; ++i)
      choice.logprob.top.emplace_back(piece(candidates_[i].id), static_cast<double>(candidates_[i].logit) - log_z);
  }
  return choice;
}

bool EmbeddedBackend::grammar_accepts_end(llama_sampler* grammar) const {
  const llama_token eog = llama_vocab_eos(vocab_) >= 0 ? llama_vocab_eos(vocab_) : llama_vocab_eot(vocab_);
  if (eog < 0) return false;
  llama_token_data one{eog, 0.0f, 0.0f};
  llama_token_data_array arr{&one, 1, -1, false};
  llama_sampler_apply(grammar, &arr);
  return std::isfinite(one.logit);
}

bool EmbeddedBackend::forces_one_text(const std::vector<llama_token_data>& allowed) const {
  std::vector<std::string> pieces;
  pieces.reserve(allowed.size());
  for (const auto& a : allowed) {
    if (llama_vocab_is_eog(vocab_, a.id)) return allowed.size() == 1;
    pieces.push_back(piece(a.id));
  }
  const auto longest = std::max_element(pieces.begin(), pieces.end(),
                                        [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  return std::all_of(pieces.begin(), pieces.end(),
                     [&](const std::string& p) { return longest->compare(0, p.size(), p) == 0; });
}

Result<EmbeddedBackend::StepChoice> EmbeddedBackend::choose_constrained(const float* logits,
                                                                        const GenerationRequest& request,
                                                                        llama_sampler* grammar) {
  // Raw softmax over the whole vocabulary; candidates carry p = raw probability.
  float max_logit = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < n_vocab_; ++i) max_logit = std::max(max_logit, logits[i]);
  double sum = 0.0;
  for (int i = 0; i < n_vocab_; ++i) {
    const float p = std::exp(logits[i] - max_logit);
    candidates_[static_cast<size_t>(i)] = {i, logits[i], p};
    sum += p;
  }

  const bool grammar_accepts = grammar_accepts_end(grammar);

  auto by_logit = [](const llama_token_data& a, const llama_token_data& b) { return a.logit > b.logit; };
  const auto total = candidates_.size();
  size_t checked = 0;
  double checked_mass = 0.0;              // raw probability examined so far (unnormalised)
  double allowed_mass = 0.0;              // raw probability of the allowed tokens among them
  std::vector<llama_token_data> allowed;  // in descending logit order
  for (size_t level = 0;; ++level) {
    const size_t want = level < std::size(kChunkSizes) ? std::min(total, kChunkSizes[level]) : total;
    if (want <= checked) continue;
    auto first = candidates_.begin() + static_cast<std::ptrdiff_t>(checked);
    auto last = candidates_.begin() + static_cast<std::ptrdiff_t>(want);
    if (want < total) std::nth_element(first, last, candidates_.end(), by_logit);
    std::sort(first, last, by_logit);
    // Remember raw values: the grammar writes -inf into rejected logits.
    std::vector<float> raw_p;
    raw_p.reserve(want - checked);
    for (auto it = first; it != last; ++it) raw_p.push_back(it->p);
    llama_token_data_array arr{&*first, want - checked, -1, true};
    llama_sampler_apply(grammar, &arr);
    for (size_t i = 0; i < want - checked; ++i) {
      auto& c = *(first + static_cast<std::ptrdiff_t>(i));
      checked_mass += raw_p[i];
      if (std::isfinite(c.logit)) {
        allowed.push_back({c.id, logits[c.id], raw_p[i]});
        allowed_mass += raw_p[i];
      }
    }
    checked = want;
    if (checked >= total) break;
    if (!allowed.empty()) {
      // The argmax among allowed tokens is already known (candidates go in logit order).
      // Stop early when the grammar is complete and the model wants to end or only pad.
      if (grammar_accepts &&
          (llama_vocab_is_eog(vocab_, allowed.front().id) || is_whitespace_only(piece(allowed.front().id)))) {
        break;
      }
      if (!request.want_logprobs) break;
      const double unchecked = sum - checked_mass;
      if (unchecked <= kRenormTolerance * allowed_mass) break;
    }
  }
  if (allowed.empty())
    return make_error(ErrorCode::kInvalidArgument, "grammar allows no token of the model's vocabulary at this point");

  StepChoice choice;
  const llama_token best = allowed.front().id;
  choice.token = best;
  if (grammar_accepts && (llama_vocab_is_eog(vocab_, best) || is_whitespace_only(piece(best)))) {
    choice.stop_grammar_complete = true;
    return choice;
  }
  if (request.want_logprobs && forces_one_text(allowed)) {
    // Every allowed token spells a prefix of one and the same string: the grammar
    // forces the text and only its tokenisation is open, so the step carries no choice.
    choice.logprob.token = piece(best);
    choice.logprob.logprob = 0.0;
    choice.logprob.top.emplace_back(choice.logprob.token, 0.0);
  } else if (request.want_logprobs) {
    const double log_allowed = std::log(allowed_mass);
    choice.logprob.token = piece(best);
    choice.logprob.logprob = std::min(0.0, std::log(static_cast<double>(allowed.front().p)) - log_allowed);
    const size_t k = std::min(allowed.size(), static_cast<size_t>(std::max(0, request.top_logprobs)));
    for (size_t i = 0; i < k; ++i)
      choice.logprob.top.emplace_back(piece(allowed[i].id),
                                      std::min(0.0, std::log(static_cast<double>(allowed[i].p)) - log_allowed));
  }
  return choice;
}

Result<GenerationResult> EmbeddedBackend::run(const GenerationRequest& request, const DeltaFn* on_delta) {
  const auto started = Clock::now();
  const auto deadline = started + request.timeout;

  auto prompt_text = render_prompt(request);
  if (!prompt_text.ok()) return prompt_text.status();

  // Grammar text: explicit GBNF wins over the JSON Schema.
  std::string grammar_text;
  std::string grammar_root = "root";
  bool json_mode = false;  // grammar derived from a JSON Schema
  if (request.gbnf_grammar) {
    grammar_text = *request.gbnf_grammar;
    if (grammar_text.empty()) return make_error(ErrorCode::kInvalidArgument, "gbnf_grammar is empty");
  } else if (request.json_schema) {
    auto conv =
        gbnf::json_schema_to_gbnf(request.json_schema->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!conv.ok)
      return make_error(ErrorCode::kInvalidArgument, "json_schema cannot be turned into a grammar: " + conv.error);
    // Few-shot prompts for base models end in "Answer:" and the examples read
    // "Answer: {...}": allow the one space the model wants before the JSON value.
    grammar_text = std::move(conv.grammar) + std::string(kJsonRootRule) + " ::= \" \"? root\n";
    grammar_root = kJsonRootRule;
    json_mode = true;
  }

  std::lock_guard lock(mutex_);

  SamplerPtr grammar;
  if (!grammar_text.empty()) {
    t_last_llama_error.clear();
    grammar.reset(llama_sampler_init_grammar(vocab_, grammar_text.c_str(), grammar_root.c_str()));
    if (!grammar) {
      std::string why = t_last_llama_error.empty() ? "parse failed" : t_last_llama_error;
      return make_error(ErrorCode::kInvalidArgument, "invalid GBNF grammar: " + why);
    }
  }

  auto tokens_r = tokenize(*prompt_text, /*parse_special=*/!request.prompt.has_value());
  if (!tokens_r.ok()) return tokens_r.status();
  std::vector<llama_token> tokens = std::move(tokens_r).value();
  if (tokens.empty()) return make_error(ErrorCode::kInvalidArgument, "prompt is empty");
  const int prompt_tokens = static_cast<int>(tokens.size());
  if (prompt_tokens >= n_ctx_)
    return make_error(ErrorCode::kPayloadTooLarge, "prompt has " + std::to_string(prompt_tokens) +
                                                       " tokens; the context holds " + std::to_string(n_ctx_));

  // Prefix reuse: keep the whole aligned blocks of the longest common prefix that were
  // decoded as whole blocks, and re-decode at least the last prompt token so that its
  // logits are fresh. The rest goes through the same blocks as in a cold run.
  size_t common = 0;
  while (common < cached_tokens_.size() && common < tokens.size() && cached_tokens_[common] == tokens[common]) ++common;
  common = std::min({common, exact_blocks_end_, tokens.size() - 1});
  size_t keep = common / block_ * block_;
  truncate_cache(keep);
  if (cached_tokens_.size() < keep) keep = 0;  // the cache could not be trimmed and was cleared

  deadline_ns_.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  struct ClearDeadline {
    std::atomic<Clock::rep>& d;
    ~ClearDeadline() { d.store(0, std::memory_order_relaxed); }
  } clear_deadline{deadline_ns_};

  if (Status s = decode_from(tokens, keep); !s.ok()) return s;

  GenerationResult result;
  result.prompt_tokens = prompt_tokens;
  result.cached_prompt_tokens = static_cast<int>(keep);
  result.model = model_id_;
  result.has_logprobs = request.want_logprobs;
  result.finish_reason = "length";

  // Streaming: result.text[0, delivered) went out through on_delta; after the first
  // delta the abort deadline also covers the inter-token limit.
  size_t delivered = 0;
  std::optional<Clock::time_point> token_deadline;
  const bool inter_token_limit = on_delta != nullptr && request.inter_token_timeout.count() > 0;
  const auto inter_token_error = [&] {
    return make_error(ErrorCode::kTimeout, "embedded generation: no token within the inter-token timeout of " +
                                               std::to_string(request.inter_token_timeout.count()) + " ms");
  };
  const auto timed_out = [&](Status status) {
    if (token_deadline && Clock::now() > *token_deadline) return inter_token_error();
    return status;
  };
  // Sends the complete characters not yet delivered (all bytes when `flush`); false when
  // the consumer asked to stop.
  const auto emit = [&](bool flush) {
    if (on_delta == nullptr) return true;
    const std::string_view text(result.text);
    const size_t end = flush ? text.size() : text.size() - incomplete_utf8_tail(text.substr(delivered));
    if (end <= delivered) return true;
    const bool go_on = (*on_delta)(text.substr(delivered, end - delivered));
    delivered = end;
    if (inter_token_limit) {
      token_deadline = Clock::now() + request.inter_token_timeout;
      deadline_ns_.store(std::min(deadline, *token_deadline).time_since_epoch().count(), std::memory_order_relaxed);
    }
    return go_on;
  };

  std::vector<llama_token> all = tokens;  // prompt + generated, mirrors the KV cache
  bool cancelled = false;
  for (int step = 0; step < request.max_tokens; ++step) {
    if (Clock::now() > deadline) return make_error(ErrorCode::kTimeout, "embedded generation timed out");
    if (token_deadline && Clock::now() > *token_deadline) return inter_token_error();
    const float* logits = llama_get_logits_ith(ctx_.get(), -1);
    if (logits == nullptr) return make_error(ErrorCode::kInternal, "llama.cpp returned no logits");

    StepChoice choice;
    if (grammar) {
      auto c = choose_constrained(logits, request, grammar.get());
      if (!c.ok()) return c.status();
      choice = std::move(c).value();
      if (choice.stop_grammar_complete) {
        result.finish_reason = "grammar";
        break;
      }
    } else {
      choice = choose_unconstrained(logits, request);
    }
    if (llama_vocab_is_eog(vocab_, choice.token)) {
      result.finish_reason = grammar ? "grammar" : "stop";
      break;
    }
    if (grammar) llama_sampler_accept(grammar.get(), choice.token);
    const std::string text_piece = piece(choice.token);
    result.text += text_piece;
    ++result.completion_tokens;
    if (request.want_logprobs) {
      choice.logprob.token = text_piece;
      result.tokens.push_back(std::move(choice.logprob));
    }
    if (!emit(/*flush=*/false)) {
      cancelled = true;
      break;
    }
    if (json_mode && json_value_closed(result.text) && grammar_accepts_end(grammar.get())) {
      // A complete JSON value that ends in } ] or " cannot grow but by whitespace: done,
      // without decoding one more token only to learn that.
      result.finish_reason = "grammar";
      break;
    }
    if (step + 1 >= request.max_tokens) break;              // no need to decode what will not be read
    if (static_cast<int>(all.size()) + 1 >= n_ctx_) break;  // context full: "length"

    all.push_back(choice.token);
    if (Status st = decode_from(all, all.size() - 1); !st.ok()) return timed_out(st);
  }

  if (cancelled) {
    result.text.resize(delivered);  // held-back bytes of a split character never went out
    result.finish_reason = "cancelled";
  } else if (!emit(/*flush=*/true)) {
    result.finish_reason = "cancelled";
  }
  result.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  return result;
}

}  // namespace

Result<std::unique_ptr<Backend>> make_embedded_backend(const ModelConfig& config) {
  std::error_code ec;
  if (config.model_path.empty())
    return make_error(ErrorCode::kInvalidArgument, "model '" + config.name + "': model_path is empty");
  if (!std::filesystem::is_regular_file(config.model_path, ec))
    return make_error(ErrorCode::kNotFound, "model file not found: " + config.model_path);
  if (config.context_size <= 0 || config.batch_size <= 0 || config.threads < 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "model '" + config.name + "': context_size and batch_size must be positive, threads >= 0");

  if (Status st = init_llama_once(); !st.ok()) return st;

  llama_model_params mparams = llama_model_default_params();
  mparams.n_gpu_layers = 0;
  t_last_llama_error.clear();
  ModelPtr model(llama_model_load_from_file(config.model_path.c_str(), mparams));
  if (!model)
    return make_error(ErrorCode::kUnavailable, "llama.cpp could not load " + config.model_path +
                                                   (t_last_llama_error.empty() ? "" : ": " + t_last_llama_error));

  int threads = config.threads;
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  llama_context_params cparams = llama_context_default_params();
  cparams.n_ctx = static_cast<uint32_t>(config.context_size);
  cparams.n_batch = static_cast<uint32_t>(config.batch_size);
  cparams.n_ubatch = static_cast<uint32_t>(config.batch_size);
  cparams.n_seq_max = 1;
  cparams.n_threads = threads;
  cparams.n_threads_batch = threads;
  cparams.no_perf = true;
  // Keep the whole context in the sliding-window layers' cache too (Gemma 3 uses SWA):
  // otherwise positions that prefix reuse needs may already be evicted.
  cparams.swa_full = true;
  ContextPtr ctx(llama_init_from_model(model.get(), cparams));
  if (!ctx)
    return make_error(ErrorCode::kUnavailable, "llama.cpp could not create a context for " + config.model_path +
                                                   (t_last_llama_error.empty() ? "" : ": " + t_last_llama_error));

  const std::string model_id = std::filesystem::path(config.model_path).filename().string();
  auto backend = std::make_unique<EmbeddedBackend>(std::move(model), std::move(ctx), model_id);
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace ladder
