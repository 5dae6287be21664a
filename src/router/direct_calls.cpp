// Router's calls on a named model with no policy around them (the server's pass-through):
// a generation (generate_direct) or a relayed request (forward_direct), each blocking or
// on an event loop, under the model's health rules (router/health.h) like every tier call.
#include <string>
#include <utility>

#include "router/router.h"

namespace ladder {
namespace {

// What a direct call on an event loop does around the backend's call: a model that health
// refuses ends at once (`done` here); else `start` gets `done` wrapped so that the call's
// outcome feeds the model's health (`record`) before the caller hears of it.
template <typename Outcome, typename Done, typename Record, typename Start>
bool start_direct(const Status& refused, Done done, Record record, Start&& start) {
  if (!refused.ok()) {
    done(refused);
    return true;
  }
  return start(Done([record = std::move(record), done = std::move(done)](Outcome result) {
    record(result.status());
    done(std::move(result));
  }));
}

}  // namespace

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

bool Router::generate_direct_async(const std::string& model_name, const GenerationRequest& request,
                                   const http::Client& client, DeltaFn on_delta, GenerateDoneFn done) {
  auto backend = backends_.find(model_name);
  if (backend == backends_.end() || !backend->second->generates_async()) return false;
  AttemptSkip skip;
  return start_direct<Result<GenerationResult>>(
      admit(model_name, skip), std::move(done),
      [this, model_name](const Status& outcome) { record_health(model_name, outcome, /*probe=*/false); },
      [&](GenerateDoneFn recorded) {
        return backend->second->generate_async(request, client, std::move(on_delta), std::move(recorded));
      });
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
  return start_direct<Result<ForwardReply>>(
      admit(model_name, skip), std::move(done),
      [this, model_name](const Status& outcome) { record_health(model_name, outcome, /*probe=*/false); },
      [&](ForwardDoneFn recorded) {
        return backend->second->forward_async(request, client, std::move(on_chunk), std::move(recorded));
      });
}

}  // namespace ladder
