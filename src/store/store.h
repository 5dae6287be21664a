// Where audit records go: the JSONL log and/or the decision store the policy selects
// (store: {kind: sqlite | postgres | jsonl}). Records are built by src/audit/record.h.
#pragma once

#include <functional>
#include <memory>

#include "ladder/audit_sink.h"
#include "ladder/config.h"
#include "store/record_store.h"

namespace ladder::store {

// The store cfg.kind names (kJsonl is not a RecordStore: kInvalidArgument).
Result<std::unique_ptr<RecordStore>> open_record_store(const StoreConfig& cfg);

// Every record goes to the JSONL log (when audit.jsonl_path is set) and to the store (when
// store.kind is sqlite or postgres) through a BatchingSink. A write fails when either does.
// `on_overflow` runs each time a request finds the store's queue full (BatchingOptions).
Result<std::unique_ptr<AuditSink>> make_audit_sink(const AuditConfig& audit, const StoreConfig& store,
                                                   std::function<void()> on_overflow = {});

}  // namespace ladder::store
