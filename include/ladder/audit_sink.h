// Where audit records go: JSONL file, SQLite, PostgreSQL. Records are built from a
// Decision by src/audit/record.h; sinks only store them.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual Status write(const nlohmann::json& record) = 0;
  // write() for a caller that must not wait for the store (`ladder serve`'s event loop):
  // `done` gets what write() would have returned, once, on the thread that finished the
  // write (the store's writer) or here. By default the write happens here.
  using WrittenFn = std::function<void(Status)>;
  virtual void write_async(nlohmann::json record, WrittenFn done) { done(write(record)); }
  virtual Status flush() = 0;
};

}  // namespace ladder
