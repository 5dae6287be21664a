#include "server/backend_pool.h"

#include "backends/factory.h"

namespace ladder::server {
namespace {

// Forwards to a backend shared with other routers: every virtual of Backend.
class SharedBackend : public Backend {
 public:
  explicit SharedBackend(std::shared_ptr<Backend> inner) : inner_(std::move(inner)) {}
  Result<GenerationResult> generate(const GenerationRequest& request) override { return inner_->generate(request); }
  Result<GenerationResult> generate_stream(const GenerationRequest& request, const DeltaFn& on_delta) override {
    return inner_->generate_stream(request, on_delta);
  }
  bool forwards(WireApi api) const override { return inner_->forwards(api); }
  Result<ForwardReply> forward(const ForwardRequest& request, const ChunkFn& on_chunk) override {
    return inner_->forward(request, on_chunk);
  }
  bool forwards_async(WireApi api) const override { return inner_->forwards_async(api); }
  bool forward_async(const ForwardRequest& request, const ladder::http::Client& client, ChunkFn on_chunk,
                     ForwardDoneFn done) override {
    return inner_->forward_async(request, client, std::move(on_chunk), std::move(done));
  }
  bool generates_async() const override { return inner_->generates_async(); }
  bool generate_async(const GenerationRequest& request, const ladder::http::Client& client, DeltaFn on_delta,
                      GenerateDoneFn done) override {
    return inner_->generate_async(request, client, std::move(on_delta), std::move(done));
  }
  Status health() override { return inner_->health(); }
  std::string kind() const override { return inner_->kind(); }
  bool continues_raw_prompt() const override { return inner_->continues_raw_prompt(); }
  int parallel_calls() const override { return inner_->parallel_calls(); }
  std::string model() const override { return inner_->model(); }

 private:
  std::shared_ptr<Backend> inner_;
};

}  // namespace

std::string model_fingerprint(const ModelConfig& m) {
  std::string f;
  auto add = [&f](const std::string& s) {
    f += std::to_string(s.size());
    f += ':';
    f += s;
    f += '|';
  };
  for (const auto& s :
       {m.name, m.backend, m.model_path, m.base_url, m.model, m.api_key_env, m.keep_alive, m.anthropic_version})
    add(s);
  for (double v : {double(m.context_size), double(m.threads), double(m.batch_size), double(m.connect_timeout_ms),
                   double(m.request_timeout_ms), double(m.retry.max_retries), double(m.retry.initial_backoff_ms),
                   double(m.retry.max_backoff_ms), m.retry.jitter})
    add(std::to_string(v));
  return f;
}

Result<std::unique_ptr<Backend>> BackendPool::get(const ModelConfig& model) {
  const std::string key = model_fingerprint(model);
  std::lock_guard lock(mu_);  // also serialises builds: a reload never loads a model twice
  if (auto live = live_[key].lock()) return std::unique_ptr<Backend>(new SharedBackend(std::move(live)));
  auto built = make_backend(model);
  if (!built.ok()) return built.status();
  std::shared_ptr<Backend> shared(std::move(built).value());
  live_[key] = shared;
  ++built_;
  return std::unique_ptr<Backend>(new SharedBackend(std::move(shared)));
}

int BackendPool::built() const {
  std::lock_guard lock(mu_);
  return built_;
}

}  // namespace ladder::server
