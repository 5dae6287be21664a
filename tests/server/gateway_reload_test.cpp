// A policy whose backends cannot all be built is refused at start and on reload; the
// serving policy stays. Kill-switch task names must name a task of the policy.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "server/gateway.h"
#include "server/metrics.h"

namespace ladder::server {
namespace {

namespace fs = std::filesystem;

std::string policy(const std::string& local_model) {
  return "version: 1\nmodels:\n" + local_model +
         "tiers:\n  - name: local\n    models: [small]\ntasks:\n  triage:\n    kind: classify\n"
         "    labels: [a, b]\n";
}
const std::string kHttpModel = "  small:\n    backend: openai\n    base_url: http://127.0.0.1:9/v1\n    model: m\n";
const std::string kMissingGguf = "  small:\n    backend: embedded\n    path: /nonexistent/typo.gguf\n";

class GatewayReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ladder-gateway-reload-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(dir_);
    options_.policy_path = (dir_ / "policy.yaml").string();
    options_.audit_path = (dir_ / "audit.jsonl").string();
    options_.health_interval = std::chrono::milliseconds(0);
    declare_server_metrics(metrics_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(options_.policy_path, std::ios::binary) << text; }

  fs::path dir_;
  GatewayOptions options_;
  MetricsRegistry metrics_;
};

TEST_F(GatewayReloadTest, StartIsRefusedWhenABackendCannotBeBuilt) {
  write(policy(kMissingGguf));
  auto gw = Gateway::create(options_, metrics_);
  ASSERT_FALSE(gw.ok());
  EXPECT_EQ(gw.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(gw.status().message().find("model 'small'"), std::string::npos) << gw.status().message();
}

TEST_F(GatewayReloadTest, ReloadThatCannotBuildABackendKeepsTheOldPolicy) {
  write(policy(kHttpModel));
  auto gw = Gateway::create(options_, metrics_);
  ASSERT_TRUE(gw.ok()) << gw.status().to_string();
  auto before = (*gw)->router();
  write(policy(kMissingGguf));
  Status s = (*gw)->reload();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ((*gw)->router(), before);
  EXPECT_EQ((*gw)->router()->config().models.at("small").backend, "openai");
}

TEST_F(GatewayReloadTest, KillSwitchNamesATaskOfThePolicy) {
  write(policy(kHttpModel));
  auto gw = Gateway::create(options_, metrics_);
  ASSERT_TRUE(gw.ok()) << gw.status().to_string();
  Status unknown = (*gw)->set_kill_switch(true, std::string("no_such_task"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.code(), ErrorCode::kNotFound);
  EXPECT_TRUE((*gw)->admin().kill_tasks.empty());
  ASSERT_TRUE((*gw)->set_kill_switch(true, std::string("triage")).ok());
  EXPECT_EQ((*gw)->admin().kill_tasks.count("triage"), 1u);
  EXPECT_TRUE((*gw)->set_kill_switch(false, std::nullopt).ok());
}

TEST_F(GatewayReloadTest, FailedAuditWritesAreCountedAndFlipReadiness) {
  write(policy(kHttpModel));
  options_.audit_path = "/dev/full";  // every write fails with ENOSPC
  auto gw = Gateway::create(options_, metrics_);
  ASSERT_TRUE(gw.ok()) << gw.status().to_string();
  EXPECT_TRUE((*gw)->readiness()["audit"]["ok"].get<bool>());
  // Fail-open (the default): the caller goes on; the failure is logged and counted.
  EXPECT_TRUE((*gw)->router()->write_audit({{"request_id", "r1"}}).ok());
  EXPECT_TRUE((*gw)->router()->write_audit({{"request_id", "r2"}}).ok());
  nlohmann::json ready = (*gw)->readiness();
  EXPECT_FALSE(ready["ready"].get<bool>()) << ready.dump();
  EXPECT_FALSE(ready["audit"]["ok"].get<bool>());
  EXPECT_NE(metrics_.render().find("ladder_audit_write_failures_total 2"), std::string::npos) << metrics_.render();
}

}  // namespace
}  // namespace ladder::server
