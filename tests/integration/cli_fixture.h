// The fixture of the CLI's black-box tests: the real build/ladder binary, the real local
// model, and a fake frontier in its own process on 127.0.0.1 (one per test suite).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.h"

namespace ladder::testing {

namespace fs = std::filesystem;
using nlohmann::json;

inline const std::string kSource = LADDER_SOURCE_DIR;
inline const std::string kLadder = std::string(LADDER_BINARY_DIR) + "/ladder";
inline const std::string kModel = kSource + "/models/gemma-3-270m-q4_k_m.gguf";
inline const std::string kExample = kSource + "/examples/maintainer/policy.yaml";

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The example policy's frontier reads its key from here; the fake checks it arrives.
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-not-secret", 1);
    dir_ = new std::string(fs::temp_directory_path() / ("ladder-it-" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    fake_ = new ServerProcess({"python3", kSource + "/tests/fakes/fake_frontier.py"});
    std::string line = fake_->read_line(30);
    ASSERT_EQ(line.rfind("PORT ", 0), 0u) << "fake frontier did not start: '" << line << "'";
    fake_port_ = std::stoi(line.substr(5));
    policy_ = new std::string(write_policy("policy.yaml", fake_port_, kModel));
  }
  static void TearDownTestSuite() {
    delete fake_;
    fs::remove_all(*dir_);
    delete dir_;
    delete policy_;
  }
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kModel)) << "run scripts/setup first: " << kModel;
    ASSERT_EQ(http_request(fake_port_, "POST", "/_reset", "{}", nullptr), 200);
  }

  // The shipped example policy with its frontier pointed at `port` and its model path
  // made absolute.
  static std::string write_policy(const std::string& name, int port, const std::string& model) {
    std::string text = example_policy_text(model);
    replace_all(text, "http://127.0.0.1:8089", "http://127.0.0.1:" + std::to_string(port));
    std::string path = *dir_ + "/" + name;
    write_file(path, text);
    return path;
  }
  static std::string input_file(const std::string& name, const std::string& text) {
    std::string path = *dir_ + "/" + name;
    write_file(path, text);
    return path;
  }
  std::string audit_path() const { return *dir_ + "/audit.jsonl"; }
  RunResult route(const std::string& task, const std::string& input, std::vector<std::string> extra = {},
                  const std::string& policy = "") {
    std::vector<std::string> argv = {kLadder,     "route", "--policy", policy.empty() ? *policy_ : policy,
                                     "--task",    task,    "--json",   "--audit",
                                     audit_path()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv, input);
  }
  static json frontier_requests() {
    std::string body;
    EXPECT_EQ(http_request(fake_port_, "GET", "/_requests", "", &body), 200);
    return json::parse(body);
  }

  static inline std::string* dir_ = nullptr;
  static inline std::string* policy_ = nullptr;
  static inline ServerProcess* fake_ = nullptr;
  static inline int fake_port_ = 0;
};

}  // namespace ladder::testing
