// Router tests against tests/fakes/fake_frontier.py: a folder per test, a router built
// from policy YAML with its audit in that folder's audit.jsonl, and the last record read back.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "../backends/test_support.h"
#include "config/loader.h"
#include "router/router.h"
#include "store/jsonl_sink.h"

namespace ladder::testing {

class RouterFixture : public FakeFrontierTest {
 protected:
  explicit RouterFixture(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
    FakeFrontierTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() /
           (prefix_ + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The policy `yaml` (relative paths resolve in the test's folder), audited to audit.jsonl.
  Result<std::unique_ptr<Router>> build_router(const std::string& yaml, RouterOptions options = {}) const {
    auto config = load_policy_yaml(yaml, "test.yaml", dir_.string());
    if (!config.ok()) return config.status();
    auto sink = open_jsonl_sink((dir_ / "audit.jsonl").string());
    if (!sink.ok()) return sink.status();
    return Router::create(std::move(config).value(), std::move(sink).value(), std::move(options));
  }
  // build_router() that must succeed (a test failure and null otherwise).
  std::unique_ptr<Router> router_for(const std::string& yaml) const {
    auto router = build_router(yaml);
    EXPECT_TRUE(router.ok()) << router.status().to_string();
    return router.ok() ? std::move(router).value() : nullptr;
  }
  // The last line of audit.jsonl, parsed (discarded when it is not JSON).
  nlohmann::json last_record() const {
    std::ifstream in(dir_ / "audit.jsonl");
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    return nlohmann::json::parse(last, nullptr, false);
  }

  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

}  // namespace ladder::testing
