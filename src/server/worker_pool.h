// A fixed set of threads for blocking model calls, with a bounded queue: the I/O threads
// never block on a model; when the queue is full a submit fails at once (the server
// answers 429 with Retry-After). A job that throws is logged and dropped; its worker
// stays (the server's jobs catch their own exceptions first: submit_job in
// worker_bridge.h).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ladder::server {

class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when max_queued jobs already wait (nothing is queued then).
  // `then` runs on the worker after the job, once its slot is free again (a reply sent
  // from it cannot race the next request for that slot).
  bool try_submit(std::function<void()> job, std::function<void()> then = {});
  // Jobs queued or running.
  std::size_t in_flight() const;
  // Runs what is queued, then joins the threads. Idempotent.
  void stop();

 private:
  void loop();

  const std::size_t thread_count_;
  const std::size_t max_queued_;
  mutable std::mutex mu_;  // guards queue_, running_, stopping_
  std::condition_variable cv_;
  std::deque<std::pair<std::function<void()>, std::function<void()>>> queue_;  // job, then
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ladder::server
