#include "ladder/status.h"

#include <array>

namespace ladder {
namespace {

struct Row {
  ErrorCode code;
  ErrorInfo info;
};

// The one table. Order follows the enum; a test checks every code has a row.
constexpr std::array kTable = {
    Row{ErrorCode::kOk, {"ok", 200, false, LogLevel::kDebug}},
    Row{ErrorCode::kInvalidArgument, {"invalid_argument", 400, false, LogLevel::kInfo}},
    Row{ErrorCode::kInvalidUtf8, {"invalid_utf8", 400, false, LogLevel::kInfo}},
    Row{ErrorCode::kPayloadTooLarge, {"payload_too_large", 413, false, LogLevel::kInfo}},
    Row{ErrorCode::kConfigInvalid, {"config_invalid", 400, false, LogLevel::kError}},
    Row{ErrorCode::kParseError, {"parse_error", 400, false, LogLevel::kInfo}},
    Row{ErrorCode::kNotFound, {"not_found", 404, false, LogLevel::kInfo}},
    Row{ErrorCode::kSchemaInvalid, {"schema_invalid", 422, false, LogLevel::kInfo}},
    Row{ErrorCode::kUnavailable, {"unavailable", 503, true, LogLevel::kWarn}},
    Row{ErrorCode::kTimeout, {"timeout", 504, true, LogLevel::kWarn}},
    Row{ErrorCode::kRateLimited, {"rate_limited", 429, true, LogLevel::kWarn}},
    Row{ErrorCode::kUpstreamError, {"upstream_error", 502, true, LogLevel::kWarn}},
    Row{ErrorCode::kUpstreamRejected, {"upstream_rejected", 502, false, LogLevel::kError}},
    Row{ErrorCode::kBadResponse, {"bad_response", 502, false, LogLevel::kWarn}},
    Row{ErrorCode::kConnectionReset, {"connection_reset", 502, true, LogLevel::kWarn}},
    Row{ErrorCode::kUnauthenticated, {"unauthenticated", 401, false, LogLevel::kInfo}},
    Row{ErrorCode::kPermissionDenied, {"permission_denied", 403, false, LogLevel::kInfo}},
    Row{ErrorCode::kNotImplemented, {"not_implemented", 501, false, LogLevel::kInfo}},
    Row{ErrorCode::kNotConfigured, {"not_configured", 503, false, LogLevel::kError}},
    Row{ErrorCode::kAuditUnavailable, {"audit_unavailable", 503, false, LogLevel::kError}},
    Row{ErrorCode::kInternal, {"internal", 500, false, LogLevel::kError}},
};

}  // namespace

const ErrorInfo& error_info(ErrorCode code) {
  for (const auto& row : kTable) {
    if (row.code == code) return row.info;
  }
  return kTable.back().info;  // unreachable while the table is complete (tested)
}

std::string_view error_name(ErrorCode code) { return error_info(code).name; }

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(error_name(code_)) + ": " + message_;
}

}  // namespace ladder
