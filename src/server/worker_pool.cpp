#include "server/worker_pool.h"

#include <exception>

#include <spdlog/spdlog.h>

namespace ladder::server {

WorkerPool::WorkerPool(std::size_t threads, std::size_t max_queued)
    : thread_count_(threads == 0 ? 1 : threads), max_queued_(max_queued) {
  for (std::size_t i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { loop(); });
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::try_submit(std::function<void()> job, std::function<void()> then) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    // Idle workers take jobs at once; only jobs beyond them wait in the queue.
    const std::size_t idle = thread_count_ > running_ ? thread_count_ - running_ : 0;
    if (queue_.size() >= idle + max_queued_) return false;
    queue_.emplace_back(std::move(job), std::move(then));
  }
  cv_.notify_one();
  return true;
}

std::size_t WorkerPool::in_flight() const {
  std::lock_guard lock(mu_);
  return queue_.size() + running_;
}

void WorkerPool::loop() {
  for (;;) {
    std::function<void()> job, then;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front().first);
      then = std::move(queue_.front().second);
      queue_.pop_front();
      ++running_;
    }
    // A job that throws is logged and dropped; the worker goes on with the next one.
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("a worker job threw: {}", e.what());
    } catch (...) {
      spdlog::error("a worker job threw an exception that is not a std::exception");
    }
    job = nullptr;
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    if (then) then();
  }
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace ladder::server
