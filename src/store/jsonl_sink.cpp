#include "store/jsonl_sink.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
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

class ObservedSink final : public AuditSink {
 public:
  ObservedSink(std::unique_ptr<AuditSink> inner, std::function<void(bool)> on_result)
      : inner_(std::move(inner)), on_result_(std::move(on_result)) {}
  Status write(const nlohmann::json& record) override {
    Status s = inner_->write(record);
    on_result_(s.ok());
    return s;
  }
  void write_async(nlohmann::json record, WrittenFn done) override {
    inner_->write_async(std::move(record), [on_result = on_result_, done = std::move(done)](Status s) {
      on_result(s.ok());
      done(std::move(s));
    });
  }
  Status flush() override { return inner_->flush(); }

 private:
  std::unique_ptr<AuditSink> inner_;
  std::function<void(bool)> on_result_;
};

// True when the file at `path` is non-empty and its last byte is not a newline: a line
// torn by a crash or a full disk, which the next record must not be glued onto.
bool ends_mid_line(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  char last = '\n';
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && ::pread(fd, &last, 1, st.st_size - 1) != 1)
    last = '\n';
  ::close(fd);
  return last != '\n';
}

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
  if (ends_mid_line(path)) {
    spdlog::warn("audit log '{}' ends in a torn line; new records start on a fresh line", path);
    if (::write(fd, "\n", 1) != 1) {
      const int err = errno;
      ::close(fd);
      return make_error(ErrorCode::kUnavailable, "cannot write audit log '" + path + "': " + std::strerror(err));
    }
  }
  return std::unique_ptr<AuditSink>(std::make_unique<JsonlSink>(path, fd));
}

std::unique_ptr<AuditSink> make_drop_sink() { return std::make_unique<DropSink>(); }

std::unique_ptr<AuditSink> observe_writes(std::unique_ptr<AuditSink> inner, std::function<void(bool ok)> on_result) {
  return std::make_unique<ObservedSink>(std::move(inner), std::move(on_result));
}

}  // namespace ladder
