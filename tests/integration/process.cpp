#include "process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace ladder::testing {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

RunResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data, int timeout_s) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    auto args = c_argv(argv);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Feed stdin from a thread so a large input cannot deadlock against full output pipes.
  std::thread feeder([fd = in_pipe[1], data = stdin_data] {
    std::size_t off = 0;
    signal(SIGPIPE, SIG_IGN);
    while (off < data.size()) {
      ssize_t n = write(fd, data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    close(fd);
  });
  RunResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, left) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  feeder.join();
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

ServerProcess::ServerProcess(const std::vector<std::string>& argv, const std::string& stderr_path) {
  int out_pipe[2];
  if (pipe(out_pipe)) return;
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out_pipe[1], 1);
    int err = stderr_path.empty() ? open("/dev/null", O_WRONLY)
                                  : open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, 2);
    close(out_pipe[0]);
    close(out_pipe[1]);
    auto args = c_argv(argv);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  pid_ = pid;
  out_fd_ = out_pipe[0];
}

ServerProcess::~ServerProcess() { stop(); }

std::string ServerProcess::read_line(int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (true) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0 || out_fd_ < 0) return {};
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    char buf[4096];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) return {};
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

void ServerProcess::stop() {
  if (pid_ > 0) {
    kill(-pid_, SIGTERM);
    kill(pid_, SIGTERM);
    int status;
    for (int i = 0; i < 50; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  if (out_fd_ >= 0) close(out_fd_);
  out_fd_ = -1;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int http_request(int port, const std::string& method, const std::string& path, const std::string& body,
                 std::string* response_body) {
  int fd = connect_loopback(port);
  if (fd < 0) return -1;
  std::ostringstream req;
  req << method << " " << path << " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
      << "Content-Type: application/json\r\nContent-Length: " << body.size() << "\r\n\r\n"
      << body;
  std::string r = req.str();
  if (write(fd, r.data(), r.size()) < 0) {
    close(fd);
    return -1;
  }
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<std::size_t>(n));
  close(fd);
  if (resp.size() < 12) return -1;
  int status = std::atoi(resp.substr(9, 3).c_str());
  auto sep = resp.find("\r\n\r\n");
  if (response_body) *response_body = sep == std::string::npos ? "" : resp.substr(sep + 4);
  return status;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

namespace {

// Removes `block` from `text`; a policy that no longer holds it is an error of the helper
// (the example changed and the tests must follow), not a silent no-op.
void remove_block(std::string& text, const std::string& block) {
  const auto at = text.find(block);
  if (at == std::string::npos) {
    std::fprintf(stderr, "example_policy_text: the example policy no longer holds:\n%s", block.c_str());
    std::abort();
  }
  text.erase(at, block.size());
}

}  // namespace

std::string example_policy_text(const std::string& model) {
  const std::string source = LADDER_SOURCE_DIR;
  std::string text = read_file(source + "/examples/maintainer/policy.yaml");
  // The first local tier alone (LocalLadderTest and the golden cases run the whole ladder).
  const auto qwen_model = text.find("  qwen-local:\n");
  const auto frontier_model = text.find("  frontier:\n", qwen_model);
  if (qwen_model == std::string::npos || frontier_model == std::string::npos) remove_block(text, "  qwen-local:\n");
  text.erase(qwen_model, frontier_model - qwen_model);
  remove_block(text,
               "  # An answer of Gemma's that does not pass is asked again here before any escalation.\n"
               "  - name: local-qwen\n    local: true\n    models: [qwen-local]\n");
  replace_all(text, "../../models/gemma-3-270m-q4_k_m.gguf", model);
  replace_all(text, "macros/", source + "/examples/maintainer/macros/");
  // The shipped calibration is keyed by the packaged model's sha256: another model file
  // (a test's stand-in) goes without it.
  const std::string calibration = "    calibration_file: calibration/gemma-3-270m-q4_k_m.json\n";
  const bool packaged = std::filesystem::path(model).filename() == "gemma-3-270m-q4_k_m.gguf";
  replace_all(text, calibration,
              packaged
                  ? "    calibration_file: " + source + "/examples/maintainer/calibration/gemma-3-270m-q4_k_m.json\n"
                  : std::string());
  return text;
}

std::string example_ladder_policy_text() {
  const std::string source = LADDER_SOURCE_DIR;
  std::string text = read_file(source + "/examples/maintainer/policy.yaml");
  replace_all(text, "path: ../../models/", "path: " + source + "/models/");
  replace_all(text, "calibration_file: calibration/",
              "calibration_file: " + source + "/examples/maintainer/calibration/");
  replace_all(text, "macros/", source + "/examples/maintainer/macros/");
  return text;
}

std::string with_calibration_file(std::string text, const std::string& file) {
  const std::string key = "    calibration_file: ";
  const auto at = text.find(key);
  if (at == std::string::npos) return text;
  const auto end = text.find('\n', at);
  if (file.empty())
    text.erase(at, end == std::string::npos ? std::string::npos : end - at + 1);
  else
    text.replace(at, end - at, key + file);
  return text;
}

}  // namespace ladder::testing
