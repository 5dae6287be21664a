// Expected failures as values: one error-code table gives each code its HTTP status,
// whether a retry can help, its log level and the escalation reason it maps to.
#pragma once

#include <cassert>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ladder {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

enum class ErrorCode {
  kOk,
  kInvalidArgument,   // bad user input (CLI flag, request field)
  kInvalidUtf8,       // input is not valid UTF-8
  kPayloadTooLarge,   // input over a configured ceiling
  kConfigInvalid,     // policy file failed validation
  kParseError,        // malformed YAML or JSON
  kNotFound,          // unknown task, model, file
  kSchemaInvalid,     // an answer does not match its JSON Schema
  kUnavailable,       // backend down, connection refused, model not loaded
  kTimeout,           // connect or request timeout
  kRateLimited,       // upstream 429
  kUpstreamError,     // upstream 5xx
  kUpstreamRejected,  // upstream 4xx other than 429 (auth, bad request)
  kBadResponse,       // upstream answered garbage
  kConnectionReset,   // stream cut, connection reset
  kUnauthenticated,   // missing or unknown API key / admin token
  kPermissionDenied,  // authenticated but not allowed (privacy refusal, admin API off)
  kNotImplemented,    // endpoint or feature not wired in this build
  kNotConfigured,  // the server lacks what a backend needs (an API key's variable unset): 503, not the client's fault
  kAuditUnavailable,  // the audit record cannot be written and the policy fails closed
  kInternal,          // invariant broken inside ladder
};

struct ErrorInfo {
  std::string_view name;  // stable identifier, used in JSON errors and metrics
  int http_status;
  bool retryable;
  LogLevel level;
};

const ErrorInfo& error_info(ErrorCode code);
std::string_view error_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok_status() { return {}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool retryable() const { return error_info(code_).retryable; }
  // "name: message", the form printed by the CLI.
  std::string to_string() const;

  // How long the failing side asked callers to wait (an upstream's Retry-After, the
  // cool-down of a backend marked down); unset for most errors.
  const std::optional<std::chrono::milliseconds>& retry_after() const { return retry_after_; }
  Status& set_retry_after(std::optional<std::chrono::milliseconds> delay) {
    retry_after_ = delay;
    return *this;
  }
  // The same code and retry-after with another message (a prefix added, a key redacted).
  Status with_message(std::string message) const {
    Status s(code_, std::move(message));
    s.retry_after_ = retry_after_;
    return s;
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::optional<std::chrono::milliseconds> retry_after_;
};

inline Status make_error(ErrorCode code, std::string message) { return Status(code, std::move(message)); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).ok() && "Result constructed from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace ladder
