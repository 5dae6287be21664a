#include "store/batching_sink.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace ladder::store {

BatchingSink::BatchingSink(std::unique_ptr<RecordStore> store, BatchingOptions options)
    : store_(std::move(store)), options_(options) {
  writer_ = std::thread([this] { run(); });
}

BatchingSink::~BatchingSink() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

bool BatchingSink::make_room(std::unique_lock<std::mutex>& lock, Status& refused) {
  if (queue_.size() < static_cast<std::size_t>(options_.queue_capacity)) return true;
  overflows_.fetch_add(1);
  if (options_.on_overflow) {
    lock.unlock();
    options_.on_overflow();
    lock.lock();
    if (queue_.size() < static_cast<std::size_t>(options_.queue_capacity)) return true;
  }
  if (options_.fail_when_full) {
    refused = make_error(ErrorCode::kUnavailable, "the decision store's queue is full (" +
                                                      std::to_string(options_.queue_capacity) +
                                                      " records waiting); the record was not written");
    return false;
  }
  space_cv_.wait(lock, [&] { return queue_.size() < static_cast<std::size_t>(options_.queue_capacity); });
  return true;
}

Status BatchingSink::write(const nlohmann::json& record) {
  std::future<Status> done;
  {
    std::unique_lock lock(mu_);
    Status refused;
    if (!make_room(lock, refused)) return refused;
    queue_.push_back(Pending{record, {}, {}});
    done = queue_.back().done.get_future();
  }
  work_cv_.notify_one();
  return done.get();
}

void BatchingSink::write_async(nlohmann::json record, WrittenFn done) {
  {
    std::unique_lock lock(mu_);
    Status refused;
    if (!make_room(lock, refused)) {
      lock.unlock();
      return done(refused);
    }
    queue_.push_back(Pending{std::move(record), {}, std::move(done)});
  }
  work_cv_.notify_one();
}

std::size_t BatchingSink::queued() {
  std::lock_guard lock(mu_);
  return queue_.size();
}

Status BatchingSink::flush() { return Status::ok_status(); }  // write() returns after its commit

void BatchingSink::run() {
  if (options_.max_age_days > 0 || options_.max_rows > 0) {
    auto deleted = store_->apply_retention(options_.max_age_days, options_.max_rows);
    if (!deleted.ok()) spdlog::error("decision store retention failed: {}", deleted.status().to_string());
  }
  std::vector<Pending> batch;
  std::vector<nlohmann::json> records;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      while (!queue_.empty() && batch.size() < static_cast<std::size_t>(options_.batch_size)) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      writing_.store(batch.size());
    }
    space_cv_.notify_all();
    records.clear();
    for (auto& p : batch) records.push_back(std::move(p.record));
    const Status s = store_->write_batch(records);
    if (!s.ok()) spdlog::error("decision store write failed for {} records: {}", records.size(), s.to_string());
    writing_.store(0);
    for (auto& p : batch) {
      if (p.then) {
        try {
          p.then(s);
        } catch (const std::exception& e) {
          spdlog::error("a decision store write callback threw: {}", e.what());
        }
      } else {
        p.done.set_value(s);
      }
    }
    batch.clear();
    const std::int64_t n = batches_.fetch_add(1) + 1;
    if ((options_.max_age_days > 0 || options_.max_rows > 0) && n % kRetentionEvery == 0) {
      auto deleted = store_->apply_retention(options_.max_age_days, options_.max_rows);
      if (!deleted.ok()) spdlog::error("decision store retention failed: {}", deleted.status().to_string());
    }
  }
}

}  // namespace ladder::store
