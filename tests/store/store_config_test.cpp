// The policy's store: section: selection, defaults, and every bad value with its path.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ladder {
namespace {

const std::string kPolicy = R"(version: 1
models:
  small:
    backend: embedded
    path: models/small.gguf
  big:
    backend: openai
    base_url: http://127.0.0.1:9000/v1
    model: gpt-big
tiers:
  - name: local
    models: [small]
  - name: frontier
    models: [big]
tasks:
  triage:
    kind: classify
    labels: [build, other]
    min_confidence: 0.4
)";

Result<ConfigPtr> load(const std::string& store) {
  return load_policy_yaml(kPolicy + store, "policy.yaml", "/base/dir");
}

std::string fail(const std::string& store) {
  auto result = load(store);
  EXPECT_FALSE(result.ok()) << store;
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), ErrorCode::kConfigInvalid);
  return result.status().message();
}

TEST(StoreConfigTest, NoStoreSectionMeansSqliteBesideThePolicy) {
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ((*c)->store.kind, StoreConfig::Kind::kSqlite);
  EXPECT_EQ((*c)->store.path, "/base/dir/ladder.db");
}

TEST(StoreConfigTest, KindJsonlKeepsTheLogOnly) {
  auto c = load("store: {kind: jsonl}\n");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ((*c)->store.kind, StoreConfig::Kind::kJsonl);
}

TEST(StoreConfigTest, SqliteIsTheDefaultKindWithPathBesideThePolicy) {
  auto c = load("store: {}\n");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ((*c)->store.kind, StoreConfig::Kind::kSqlite);
  EXPECT_EQ((*c)->store.path, "/base/dir/ladder.db");
  EXPECT_TRUE((*c)->store.synchronous_full);
  EXPECT_FALSE((*c)->store.fail_when_full);
}

TEST(StoreConfigTest, EveryKeyIsRead) {
  auto c = load(
      "store:\n  kind: sqlite\n  path: data/decisions.db\n  synchronous: normal\n  queue_capacity: 16\n"
      "  batch_size: 4\n  on_full: fail\n  max_age_days: 30\n  max_rows: 1000\n  max_size_mb: 64\n");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const StoreConfig& s = (*c)->store;
  EXPECT_EQ(s.path, "/base/dir/data/decisions.db");
  EXPECT_FALSE(s.synchronous_full);
  EXPECT_EQ(s.queue_capacity, 16);
  EXPECT_EQ(s.batch_size, 4);
  EXPECT_TRUE(s.fail_when_full);
  EXPECT_EQ(s.max_age_days, 30);
  EXPECT_EQ(s.max_rows, 1000);
  EXPECT_EQ(s.max_size_mb, 64);
  auto pg = load("store: {kind: postgres, dsn_env: LADDER_PG_DSN}\n");
  ASSERT_TRUE(pg.ok()) << pg.status().to_string();
  EXPECT_EQ((*pg)->store.kind, StoreConfig::Kind::kPostgres);
  EXPECT_EQ((*pg)->store.dsn_env, "LADDER_PG_DSN");
}

TEST(StoreConfigTest, BadValuesNameTheirPath) {
  EXPECT_NE(fail("store: {kind: mongo}\n").find("store.kind"), std::string::npos);
  EXPECT_NE(fail("store: {kind: sqlite, synchronous: off}\n").find("store.synchronous"), std::string::npos);
  EXPECT_NE(fail("store: {on_full: drop}\n").find("store.on_full"), std::string::npos);
  EXPECT_NE(fail("store: {queue_capacity: 0}\n").find("store.queue_capacity"), std::string::npos);
  EXPECT_NE(fail("store: {batch_size: lots}\n").find("store.batch_size"), std::string::npos);
  EXPECT_NE(fail("store: {max_rows: -1}\n").find("store.max_rows"), std::string::npos);
  EXPECT_NE(fail("store: {kind: postgres}\n").find("dsn_env"), std::string::npos);
  EXPECT_NE(fail("store: {pathh: x.db}\n").find("pathh"), std::string::npos);
  EXPECT_NE(fail("store: [sqlite]\n").find("store"), std::string::npos);
}

}  // namespace
}  // namespace ladder
