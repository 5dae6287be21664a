#include "store/jsonl_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

namespace ladder {
namespace {

std::string dump_line(const nlohmann::json& record) {
  // replace: a stray invalid byte must never make a record unwritable.
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class JsonlSink final : public AuditSink {
 public:
  JsonlSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~JsonlSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;

  Status write(const nlohmann::json& record) override {
    std::string line = dump_line(record);
    line.push_back('\n');
    std::lock_guard<std::mutex> lock(mutex_);  // guards fd_: one whole line at a time
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return make_error(ErrorCode::kUnavailable, "cannot write audit log '" + path_ + "': " + std::strerror(errno));
      }
      done += static_cast<std::size_t>(n);
    }
    return Status::ok_status();
  }

  Status flush() override {
    std::lock_guard<std::mutex> lock(mutex_);
    // Lines go straight to the kernel (no user-space buffer); flush makes them durable.
    if (::fdatasync(fd_) != 0 && errno != EINVAL && errno != EROFS)
      return make_error(ErrorCode::kUnavailable, "cannot flush audit log '" + path_ + "': " + std::strerror(errno));
    return Status::ok_status();
  }

 private:
  const std::string path_;
  std::mutex mutex_;
  int fd_;  // guarded by mutex_
};

// ---- no sink ---------------------------------------------------------------------------

class DropSink final : public AuditSink {
 public:
  Status write(const nlohmann::json&) override { return Status::ok_status(); }
  Status flush() override { return Status::ok_status(); }
};

}  // namespace

Result<std::unique_ptr<AuditSink>> open_jsonl_sink(const std::string& path) {
  if (path.empty()) return make_error(ErrorCode::kInvalidArgument, "audit log path is empty");
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    const int err = errno;
    const ErrorCode code =
        (err == EISDIR || err == ENAMETOOLONG) ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable;
    return make_error(code, "cannot open audit log '" + path + "' for appending: " + std::strerror(err));
  }
  return std::unique_ptr<AuditSink>(std::make_unique<JsonlSink>(path, fd));
}

std::unique_ptr<AuditSink> make_drop_sink() { return std::make_unique<DropSink>(); }

}  // namespace ladder
