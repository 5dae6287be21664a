// Test support for the network backends: child processes (fake_frontier.py, the real
// llama-server), free ports, a recording sleep, and a fixture around the fake frontier.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/http/http_client.h"
#include "backends/retry.h"
#include "ladder/config.h"

namespace ladder::testing {

// A port that nobody listens on right now (bound to port 0, then closed).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// A child process with its stdout on a pipe (stderr to /dev/null unless kept).
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { stop(); }

  bool start(const std::vector<std::string>& argv, bool quiet_stderr = true) {
    int fds[2];
    if (::pipe(fds) != 0) return false;
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      if (quiet_stderr) {
        int devnull = ::open("/dev/null", O_WRONLY);
        if (devnull >= 0) ::dup2(devnull, STDERR_FILENO);
      }
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    pid_ = pid;
    out_fd_ = fds[0];
    return true;
  }

  // Reads one line from the child's stdout, waiting at most `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string line;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{out_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
      char c;
      ssize_t n = ::read(out_fd_, &c, 1);
      if (n <= 0) return std::nullopt;
      if (c == '\n') return line;
      line += c;
    }
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 50; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
      }
    }
    if (out_fd_ >= 0) {
      ::close(out_fd_);
      out_fd_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

// Records the delays the retry policy asked for instead of sleeping.
struct SleepRecorder {
  std::mutex mutex;  // guards delays
  std::vector<std::chrono::milliseconds> delays;
  SleepFn fn() {
    return [this](std::chrono::milliseconds d) {
      std::lock_guard<std::mutex> lock(mutex);
      delays.push_back(d);
    };
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mutex);
    return delays.size();
  }
};

inline http::Response control_call(const std::string& url, const std::string& method,
                                   const nlohmann::json* body = nullptr) {
  http::Client client;
  http::Request request;
  request.method = method;
  request.url = url;
  if (body != nullptr) request.body = body->dump();
  request.total_timeout = std::chrono::milliseconds(5000);
  auto response = client.send(request);
  EXPECT_TRUE(response.ok()) << response.status().to_string();
  return response.ok() ? response.value() : http::Response{};
}

// The fake frontier as a child process: one per test suite, reset before each test.
class FakeFrontierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    process_ = new ChildProcess();
    const std::string script = std::string(LADDER_SOURCE_DIR) + "/tests/fakes/fake_frontier.py";
    ASSERT_TRUE(process_->start({"python3", script}, /*quiet_stderr=*/false));
    auto line = process_->read_line(std::chrono::seconds(20));
    ASSERT_TRUE(line.has_value()) << "fake_frontier.py printed no PORT line";
    ASSERT_EQ(line->rfind("PORT ", 0), 0u) << *line;
    port_ = std::stoi(line->substr(5));
  }
  static void TearDownTestSuite() {
    delete process_;
    process_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(process_, nullptr);
    ASSERT_GT(port_, 0) << "fake frontier did not start";
    control_call(base_url() + "/_reset", "POST");
  }

  static std::string base_url() { return "http://127.0.0.1:" + std::to_string(port_); }

  static void fail(const nlohmann::json& spec) {
    auto response = control_call(base_url() + "/_fail", "POST", &spec);
    ASSERT_EQ(response.status, 200);
  }
  static void answer(const std::string& text) {
    nlohmann::json body = {{"text", text}};
    auto response = control_call(base_url() + "/_answer", "POST", &body);
    ASSERT_EQ(response.status, 200);
  }
  static nlohmann::json requests() {
    auto response = control_call(base_url() + "/_requests", "GET");
    return nlohmann::json::parse(response.body);
  }

  // A model entry pointing at the fake, with quick retries.
  static ModelConfig model_config(const std::string& backend, const std::string& model = "fake-model") {
    ModelConfig m;
    m.name = "test_" + backend;
    m.backend = backend;
    m.base_url = base_url();
    m.model = model;
    m.connect_timeout_ms = 1000;
    m.request_timeout_ms = 5000;
    m.retry.max_retries = 2;
    m.retry.initial_backoff_ms = 10;
    m.retry.max_backoff_ms = 5000;
    m.retry.jitter = 0.2;
    return m;
  }

  static std::string down_url() { return "http://127.0.0.1:" + std::to_string(free_port()); }

  SleepRecorder sleeps_;

  static inline ChildProcess* process_ = nullptr;
  static inline int port_ = 0;
};

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

}  // namespace ladder::testing
