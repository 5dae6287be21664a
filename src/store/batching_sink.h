// The writer in front of a RecordStore: requests hand their record to a bounded queue;
// one writer thread commits what is queued in batches (one transaction each) and wakes
// each writer when its record is durable. write() returns only after the commit, so an
// answered request always has its record; the request thread does no store I/O.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "ladder/audit_sink.h"
#include "store/record_store.h"

namespace ladder::store {

struct BatchingOptions {
  int queue_capacity = 1024;
  int batch_size = 64;
  bool fail_when_full = false;  // false: a writer waits for room; true: kUnavailable at once
  int max_age_days = 0;         // retention, applied at start and every kRetentionEvery batches
  std::int64_t max_rows = 0;
  // Called (outside the queue's lock) each time a writer finds the queue full: ladder
  // serve counts it as ladder_store_queue_overflows_total.
  std::function<void()> on_overflow;
};

class BatchingSink final : public AuditSink {
 public:
  static constexpr int kRetentionEvery = 64;

  BatchingSink(std::unique_ptr<RecordStore> store, BatchingOptions options);
  ~BatchingSink() override;  // commits everything queued, then stops the writer
  BatchingSink(const BatchingSink&) = delete;
  BatchingSink& operator=(const BatchingSink&) = delete;

  Status write(const nlohmann::json& record) override;
  // Queues the record and returns; `done` runs on the writer thread after the commit (or
  // here, refused, when the queue is full under fail_when_full). A full queue otherwise
  // makes this caller wait for room, as write() does, and counts as an overflow.
  void write_async(nlohmann::json record, WrittenFn done) override;
  Status flush() override;

  // Writers that found the queue full (waited, or were refused with fail_when_full).
  std::int64_t overflows() const { return overflows_.load(); }
  std::int64_t batches() const { return batches_.load(); }
  // Records waiting in the queue, and records the writer has taken and not yet committed.
  std::size_t queued();
  std::size_t writing() const { return writing_.load(); }

 private:
  struct Pending {
    nlohmann::json record;
    std::promise<Status> done;  // write()
    WrittenFn then;             // write_async()
  };
  // Waits for room in the queue (lock held); false when the queue is full under
  // fail_when_full (`refused` says so).
  bool make_room(std::unique_lock<std::mutex>& lock, Status& refused);
  void run();

  const std::unique_ptr<RecordStore> store_;
  const BatchingOptions options_;
  std::mutex mu_;
  std::condition_variable work_cv_;   // the writer waits for records
  std::condition_variable space_cv_;  // writers wait for room
  std::deque<Pending> queue_;         // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  std::atomic<std::int64_t> overflows_{0};
  std::atomic<std::int64_t> batches_{0};
  std::atomic<std::size_t> writing_{0};
  std::thread writer_;
};

}  // namespace ladder::store
