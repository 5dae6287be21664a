#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ladder/audit_sink.h"
#include "ladder/config.h"

namespace ladder {
// Appends one JSON line per record; the file is opened in append mode and each line is
// written and flushed whole, under a lock.
Result<std::unique_ptr<AuditSink>> open_jsonl_sink(const std::string& path);
// One row per record in table `decisions` (indexed columns + the full JSON).
Result<std::unique_ptr<AuditSink>> open_sqlite_sink(const std::string& path);
// The sinks the policy's audit section asks for (possibly none: a sink that drops).
Result<std::unique_ptr<AuditSink>> make_audit_sink(const AuditConfig& cfg);
// Wraps `inner`: every write goes through it and `on_result(ok)` is called after each
// one, so a server can count failed writes and report audit health.
std::unique_ptr<AuditSink> observe_writes(std::unique_ptr<AuditSink> inner, std::function<void(bool ok)> on_result);
}  // namespace ladder
