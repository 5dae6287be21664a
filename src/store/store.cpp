#include "store/store.h"

#include "store/batching_sink.h"
#include "store/jsonl_sink.h"

namespace ladder::store {
namespace {

class TeeSink final : public AuditSink {
 public:
  TeeSink(std::unique_ptr<AuditSink> a, std::unique_ptr<AuditSink> b) : a_(std::move(a)), b_(std::move(b)) {}
  Status write(const nlohmann::json& record) override {
    Status sa = a_->write(record);
    Status sb = b_->write(record);
    return sa.ok() ? sb : sa;
  }
  void write_async(nlohmann::json record, WrittenFn done) override {
    Status sa = a_->write(record);
    b_->write_async(std::move(record), [sa, done = std::move(done)](Status sb) { done(sa.ok() ? sb : sa); });
  }
  Status flush() override {
    Status sa = a_->flush();
    Status sb = b_->flush();
    return sa.ok() ? sb : sa;
  }

 private:
  std::unique_ptr<AuditSink> a_;
  std::unique_ptr<AuditSink> b_;
};

}  // namespace

Result<std::unique_ptr<RecordStore>> open_record_store(const StoreConfig& cfg) {
  switch (cfg.kind) {
    case StoreConfig::Kind::kSqlite:
      return open_sqlite_store(cfg);
    case StoreConfig::Kind::kPostgres:
      return open_postgres_store(cfg);
    case StoreConfig::Kind::kJsonl:
      break;
  }
  return make_error(ErrorCode::kInvalidArgument, "the policy's store is the JSONL log only (store.kind: jsonl)");
}

Result<std::unique_ptr<AuditSink>> make_audit_sink(const AuditConfig& audit, const StoreConfig& store,
                                                   std::function<void()> on_overflow) {
  std::unique_ptr<AuditSink> jsonl;
  if (!audit.jsonl_path.empty()) {
    auto sink = open_jsonl_sink(audit.jsonl_path);
    if (!sink.ok()) return sink.status();
    jsonl = std::move(sink).value();
  }
  if (store.kind == StoreConfig::Kind::kJsonl) return jsonl ? std::move(jsonl) : make_drop_sink();
  auto records = open_record_store(store);
  if (!records.ok()) return records.status();
  BatchingOptions options;
  options.queue_capacity = store.queue_capacity;
  options.batch_size = store.batch_size;
  options.fail_when_full = store.fail_when_full;
  options.max_age_days = store.max_age_days;
  options.max_rows = store.max_rows;
  options.on_overflow = std::move(on_overflow);
  std::unique_ptr<AuditSink> batching = std::make_unique<BatchingSink>(std::move(records).value(), options);
  if (!jsonl) return batching;
  return std::unique_ptr<AuditSink>(std::make_unique<TeeSink>(std::move(jsonl), std::move(batching)));
}

}  // namespace ladder::store
