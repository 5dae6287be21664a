// The replay_access table and the request-id filter (schema version 4), run against each
// RecordStore (SQLite and the real PostgreSQL) by the same checks.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/record_store.h"

namespace ladder::store {

inline void check_replay_access(RecordStore& store) {
  using nlohmann::json;
  const json sealed = {{"alg", "AES-256-GCM"},
                       {"key_id", "0011223344556677"},
                       {"nonce", "00112233445566778899aabb"},
                       {"ciphertext", "deadbeef"},
                       {"tag", "00112233445566778899aabbccddeeff"}};
  const json first = {{"ts", "2024-01-01T00:00:00.000Z"},
                      {"request_id", "req_a"},
                      {"task", "t"},
                      {"route", "local"},
                      {"sealed_input", sealed}};
  const json second = {{"ts", "2024-01-01T00:00:01.000Z"}, {"request_id", "req_b"}, {"task", "t"}, {"route", "local"}};
  ASSERT_TRUE(store.write_batch({first, second}).ok());
  EXPECT_EQ(*store.schema_version(), 4);

  DecisionFilter by_request;
  by_request.request_id = "req_a";
  auto found = store.query(by_request);
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].record["sealed_input"], sealed);  // the whole record is kept
  by_request.request_id = "req_nope";
  EXPECT_TRUE(store.query(by_request)->empty());

  auto none = store.replay_accesses("");
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_TRUE(none->empty());
  ReplayAccess access{0, "req_a", "alice", "incident 42", "2024-01-02T00:00:00Z", "opened", "0011223344556677"};
  auto a = store.add_replay_access(access);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  access.request_id = "missing";
  access.outcome = "not_found";
  access.who = "bob";
  auto b = store.add_replay_access(access);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_GT(*b, *a);
  ASSERT_TRUE(store.set_replay_outcome(*a, "replayed").ok());
  EXPECT_EQ(store.set_replay_outcome(*b + 100, "replayed").code(), ErrorCode::kNotFound);

  auto all = store.replay_accesses("");
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, *a);
  EXPECT_EQ((*all)[0].request_id, "req_a");
  EXPECT_EQ((*all)[0].who, "alice");
  EXPECT_EQ((*all)[0].why, "incident 42");
  EXPECT_EQ((*all)[0].ts, "2024-01-02T00:00:00Z");
  EXPECT_EQ((*all)[0].outcome, "replayed");
  EXPECT_EQ((*all)[0].key_id, "0011223344556677");
  EXPECT_EQ((*all)[1].outcome, "not_found");
  auto one = store.replay_accesses("req_a");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].who, "alice");

  // Retention deletes decisions, never the record of who read them.
  ASSERT_TRUE(store.apply_retention(0, 1).ok());
  EXPECT_EQ(*store.count(), 1);
  EXPECT_EQ(store.replay_accesses("")->size(), 2u);
}

}  // namespace ladder::store
