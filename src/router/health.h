// Whether a backend may be called, judged from its real calls and its periodic probes
// alike (a circuit breaker per model):
//   - `failures_to_mark_down` failures in a row mark it down; one failed probe or call
//     does not;
//   - while down no call goes out, except one trial per cool-down (half-open): the first
//     call admitted after `cooldown_ms`; its failure keeps the model down for another
//     cool-down;
//   - any success marks it up (a call, a trial or a probe).
// Only failures that say the backend cannot serve count against it: unreachable, timed
// out, 5xx, a cut connection, an unreadable answer, missing configuration. An answer that
// refuses one request (429 rate limited, another 4xx) shows the backend is there: it
// counts as a success, so a rate limit never takes a model out. The router judges an
// in-process model (backend: embedded) by its probes only: its failures (a timeout on a
// busy machine) say it is slow, not that it is gone.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include "ladder/config.h"
#include "ladder/status.h"

namespace ladder {

enum class HealthEvidence { kUp, kDown, kNeutral };
// What a call's outcome says about its backend (kNeutral: nothing, e.g. a bad request
// built by ladder itself).
HealthEvidence health_evidence(const Status& outcome);

class BackendHealth {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;

  // `now` is the clock (tests pass their own); empty: steady_clock.
  explicit BackendHealth(HealthConfig config, NowFn now = {});

  struct Admission {
    bool allowed = true;
    std::chrono::milliseconds retry_in{0};  // when refused: until the next trial may go out
  };
  // May a call go out now? Up: yes. Down: once per cool-down (that call is the trial).
  Admission admit();

  enum class Change { kNone, kMarkedDown, kMarkedUp };
  // Feeds the outcome of a call or probe; says when the state flipped.
  Change record(const Status& outcome);

  bool up() const;
  int consecutive_failures() const;
  // The code of the last failure that counted (kOk when none yet).
  ErrorCode last_failure() const;

 private:
  const HealthConfig config_;
  const NowFn now_;
  mutable std::mutex mu_;  // guards every field below
  bool up_ = true;
  int failures_ = 0;
  ErrorCode last_failure_ = ErrorCode::kOk;
  Clock::time_point next_trial_{};  // while down
};

}  // namespace ladder
