#include "store/jsonl_sink.h"
#include "store/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace ladder {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("ladder-jsonl-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

json record(int n) {
  return {{"ts", "2024-01-01T00:00:00.000Z"},
          {"request_id", "req-" + std::to_string(n)},
          {"task", "classify_issue"},
          {"route", n % 2 ? "frontier" : "local"},
          {"reason", n % 2 ? json("confidence_low") : json(nullptr)},
          {"preview", "multi\nline\ttext"}};
}

TEST(JsonlSinkTest, OneLinePerRecordAppended) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  {
    auto sink = open_jsonl_sink(path);
    ASSERT_TRUE(sink.ok()) << sink.status().to_string();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*sink)->write(record(i)).ok());
    ASSERT_TRUE((*sink)->flush().ok());
  }
  {
    auto again = open_jsonl_sink(path);  // appends, never truncates
    ASSERT_TRUE(again.ok());
    ASSERT_TRUE((*again)->write(record(3)).ok());
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const json parsed = json::parse(lines[i]);
    EXPECT_EQ(parsed["request_id"], "req-" + std::to_string(i));
    EXPECT_EQ(parsed["preview"], "multi\nline\ttext");
  }
}

TEST(JsonlSinkTest, RestartOntoATornLastLineStartsAFreshLine) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  std::ofstream(path, std::ios::binary) << json(record(0)).dump() << "\n{\"request_id\":\"req-torn";
  {
    auto sink = open_jsonl_sink(path);
    ASSERT_TRUE(sink.ok()) << sink.status().to_string();
    ASSERT_TRUE((*sink)->write(record(1)).ok());
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "{\"request_id\":\"req-torn");
  EXPECT_EQ(json::parse(lines[2])["request_id"], "req-1");
}

TEST(JsonlSinkTest, FailedWriteIsAnErrorWithAStableCode) {
  // /dev/full accepts the open and fails every write with ENOSPC (a full disk).
  auto sink = open_jsonl_sink("/dev/full");
  ASSERT_TRUE(sink.ok()) << sink.status().to_string();
  Status s = (*sink)->write(record(0));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_NE(s.message().find("No space left"), std::string::npos) << s.message();
}

TEST(JsonlSinkTest, InvalidUtf8DoesNotBreakTheLine) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  auto sink = open_jsonl_sink(path);
  ASSERT_TRUE(sink.ok());
  EXPECT_TRUE((*sink)->write({{"preview", "bad \xff byte"}}).ok());
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NO_THROW(json::parse(lines[0]));
}

TEST(JsonlSinkTest, ConcurrentWritersProduceWholeLines) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  auto sink = open_jsonl_sink(path);
  ASSERT_TRUE(sink.ok());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  const std::string payload(6000, 'p');  // larger than PIPE_BUF, so a torn write would show
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status s = (*sink)->write({{"thread", t}, {"seq", i}, {"payload", payload}});
        EXPECT_TRUE(s.ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::pair<int, int>> seen;
  for (const auto& line : lines) {
    json parsed;
    ASSERT_NO_THROW(parsed = json::parse(line)) << line.substr(0, 80);
    EXPECT_EQ(parsed["payload"], payload);
    seen.insert({parsed["thread"].get<int>(), parsed["seq"].get<int>()});
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(JsonlSinkTest, UnwritablePathIsAClearError) {
  TempDir dir;
  const std::string missing = dir.file("no-such-dir/audit.jsonl");
  auto sink = open_jsonl_sink(missing);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(sink.status().message().find(missing), std::string::npos) << sink.status().message();

  auto directory = open_jsonl_sink(dir.path().string());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(directory.status().message().find(dir.path().string()), std::string::npos);

  auto empty = open_jsonl_sink("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);
}

TEST(MakeAuditSinkTest, EmptyPathDropsRecords) {
  auto sink = store::make_audit_sink(AuditConfig{}, StoreConfig{});
  ASSERT_TRUE(sink.ok());
  EXPECT_TRUE((*sink)->write(record(1)).ok());
  EXPECT_TRUE((*sink)->flush().ok());
}

TEST(MakeAuditSinkTest, JsonlPathWritesThere) {
  TempDir dir;
  AuditConfig cfg;
  cfg.jsonl_path = dir.file("decisions.jsonl");
  auto sink = store::make_audit_sink(cfg, StoreConfig{});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->write(record(7)).ok());
  const auto lines = read_lines(cfg.jsonl_path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(json::parse(lines[0])["request_id"], "req-7");

  cfg.jsonl_path = dir.file("missing/decisions.jsonl");
  EXPECT_FALSE(store::make_audit_sink(cfg, StoreConfig{}).ok());
}

}  // namespace
}  // namespace ladder
