// Where audit records go: JSONL file, SQLite, PostgreSQL. Records are built from a
// Decision by src/audit/record.h; sinks only store them.
#pragma once

#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual Status write(const nlohmann::json& record) = 0;
  virtual Status flush() = 0;
};

}  // namespace ladder
