// A decision store: commits audit records in batches, keeps its schema current, applies
// retention. SQLite (embedded default) and PostgreSQL implement it (docs/store.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/config.h"
#include "ladder/status.h"

namespace ladder::store {

// The schema version this build writes; migrations bring older stores up to it.
inline constexpr int kLatestSchemaVersion = 4;

// Which stored decisions a query returns; empty fields do not filter.
struct DecisionFilter {
  std::string since_ts;  // records with ts >= this (RFC 3339, the records' own format)
  std::string task;
  std::int64_t id = 0;     // one decision
  std::string request_id;  // the decisions of one request id
};

// One access to a sealed input (`ladder replay`, docs/store.md): recorded before the
// input is unsealed, its outcome set when known.
struct ReplayAccess {
  std::int64_t id = 0;
  std::string request_id;  // the record's request id, or the ID asked for when none matched
  std::string who;
  std::string why;
  std::string ts;       // RFC 3339 UTC
  std::string outcome;  // opened (unsealing), replayed, replay_failed, tampered, wrong_key,
                        // no_sealed_input, not_found
  std::string key_id;   // the id of the key the replay was run with
};

struct StoredDecision {
  std::int64_t id = 0;
  nlohmann::json record;
  std::string review;  // "", "accept" or "defect"
  std::string review_note;
};

class RecordStore {
 public:
  virtual ~RecordStore() = default;
  // All records in one transaction: every one is durable when this returns ok, none is
  // kept when it fails.
  virtual Status write_batch(const std::vector<nlohmann::json>& records) = 0;
  // Deletes records older than max_age_days and past the newest max_rows (0: no limit).
  // Returns how many records were deleted.
  virtual Result<std::int64_t> apply_retention(int max_age_days, std::int64_t max_rows) = 0;
  virtual Result<std::int64_t> count() = 0;
  virtual Result<int> schema_version() = 0;
  // Stored decisions with their reviews, oldest first.
  virtual Result<std::vector<StoredDecision>> query(const DecisionFilter& filter) = 0;
  // Sets (or replaces) the review of decision `id`: label "accept" or "defect".
  // kNotFound when there is no such decision.
  virtual Status put_review(std::int64_t id, const std::string& label, const std::string& note,
                            const std::string& ts) = 0;
  // Appends an access to the replay_access table (durable when this returns); its id.
  virtual Result<std::int64_t> add_replay_access(const ReplayAccess& access) = 0;
  // Sets the outcome of access `id` (kNotFound when there is none).
  virtual Status set_replay_outcome(std::int64_t id, const std::string& outcome) = 0;
  // Accesses oldest first; only those of `request_id` when it is not empty.
  virtual Result<std::vector<ReplayAccess>> replay_accesses(const std::string& request_id) = 0;
};

// Opens (creating when absent) the SQLite store at cfg.path: WAL, synchronous per cfg,
// migrations applied, max_size_mb enforced with max_page_count.
Result<std::unique_ptr<RecordStore>> open_sqlite_store(const StoreConfig& cfg);

// Connects to the PostgreSQL server whose libpq connection string is in the environment
// variable cfg.dsn_env, and applies the same migrations.
Result<std::unique_ptr<RecordStore>> open_postgres_store(const StoreConfig& cfg);

}  // namespace ladder::store
