// Test helper: run a binary to completion with captured output, or keep a server process
// alive for the length of a test. POSIX only.
#pragma once

#include <string>
#include <vector>

namespace ladder::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] with argv, feeding `stdin_data`, and waits (killing it after timeout_s).
RunResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data = "", int timeout_s = 300);

class ServerProcess {
 public:
  // Starts the process; its stdout is readable line by line with read_line(). Its stderr
  // goes to `stderr_path` when given, else to /dev/null.
  explicit ServerProcess(const std::vector<std::string>& argv, const std::string& stderr_path = "");
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  bool started() const { return pid_ > 0; }
  // One line of stdout (without newline); empty on EOF or after timeout_s.
  std::string read_line(int timeout_s = 30);
  void stop();

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

// A free TCP port on 127.0.0.1 (bind port 0, read it, close).
int free_port();

// A TCP connection to 127.0.0.1:port; the socket, or -1 when it cannot connect.
int connect_loopback(int port);

// Minimal HTTP/1.1 request over a plain socket for test control endpoints.
// Returns the status code (-1 when the connection fails) and fills body.
int http_request(int port, const std::string& method, const std::string& path, const std::string& body,
                 std::string* response_body);

std::string read_file(const std::string& path);

void replace_all(std::string& s, const std::string& from, const std::string& to);

// The shipped example policy (examples/maintainer/policy.yaml) with its first local tier
// alone (the Qwen tier of its local ladder removed), its model path set to `model`, and
// its macro and calibration files made absolute, so a copy works from any folder (the
// calibration only for the packaged Gemma file, whose sha256 it is keyed by).
std::string example_policy_text(const std::string& model);
// The shipped example policy as it is, its whole local ladder included, with its model,
// calibration and macro files made absolute (the packaged models under models/).
std::string example_ladder_policy_text();
// The policy text with its (first) model's calibration_file set to `file`, or removed when
// `file` is empty (unchanged when it names none).
std::string with_calibration_file(std::string text, const std::string& file);
void write_file(const std::string& path, const std::string& text);

}  // namespace ladder::testing
