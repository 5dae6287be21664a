// The JSONL audit log: one JSON line per record, kept beside the store.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ladder/audit_sink.h"

namespace ladder {
// Appends one JSON line per record; the file is opened in append mode and each line is
// written and flushed whole, under a lock.
Result<std::unique_ptr<AuditSink>> open_jsonl_sink(const std::string& path);
// A sink that keeps nothing (no JSONL path and no store).
std::unique_ptr<AuditSink> make_drop_sink();
// Wraps `inner`: every write goes through it and `on_result(ok)` is called after each
// one, so a server can count failed writes and report audit health.
std::unique_ptr<AuditSink> observe_writes(std::unique_ptr<AuditSink> inner, std::function<void(bool ok)> on_result);
}  // namespace ladder
