#include "cli/common.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "config/loader.h"
#include "router/decision_json.h"
#include "store/stats.h"
#include "store/store.h"

namespace ladder::cli {

Result<std::string> read_input(const std::string& path, std::size_t max_bytes) {
  std::istream* in = &std::cin;
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return make_error(ErrorCode::kNotFound, "cannot read input file '" + path + "'");
    in = &file;
  }
  std::string data;
  char buf[65536];
  while (*in) {
    in->read(buf, sizeof buf);
    data.append(buf, static_cast<std::size_t>(in->gcount()));
    if (data.size() > max_bytes)
      return make_error(ErrorCode::kPayloadTooLarge, "input is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return data;
}

Result<std::unique_ptr<Router>> open_router(const std::string& policy_path, const std::string& audit_path,
                                            RouterOptions options) {
  auto config = load_policy_file(policy_path);
  if (!config.ok()) return config.status();
  AuditConfig audit = (*config)->audit;
  audit.jsonl_path = audit_path_for(**config, audit_path);
  auto sink = store::make_audit_sink(audit, (*config)->store);
  if (!sink.ok()) return sink.status();
  return Router::create(*config, std::move(sink).value(), std::move(options));
}

std::string audit_path_for(const Config& config, const std::string& audit_path) {
  if (!audit_path.empty()) return audit_path;
  if (!config.audit.jsonl_path.empty()) return config.audit.jsonl_path;
  return "ladder-audit.jsonl";
}

Result<PolicyStore> open_policy_store(const std::string& policy_path) {
  auto config = load_policy_file(policy_path);
  if (!config.ok()) return config.status();
  if ((*config)->store.kind == StoreConfig::Kind::kJsonl)
    return make_error(ErrorCode::kInvalidArgument,
                      "policy '" + policy_path + "' has no decision store (add store: {kind: sqlite} or postgres)");
  auto opened = store::open_record_store((*config)->store);
  if (!opened.ok()) return opened.status();
  return PolicyStore{*config, std::move(opened).value()};
}

macros::ClassifyFn classify_with(Router& router) {
  return [&router](const std::string& task, const std::string& input) -> Result<nlohmann::json> {
    RouteRequest req;
    req.task = task;
    req.input = input;
    auto d = router.route(req);
    if (!d.ok()) return d.status();
    return classify_step_result(*d);
  };
}

int report_error(const Status& status) {
  std::cerr << "error: " << status.to_string() << "\n";
  switch (status.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kInvalidUtf8:
    case ErrorCode::kPayloadTooLarge:
    case ErrorCode::kConfigInvalid:
    case ErrorCode::kParseError:
    case ErrorCode::kNotFound:
      return 2;
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
      return 3;
    default:
      return 1;
  }
}

Status apply_since(const std::optional<std::string>& since, store::DecisionFilter& filter) {
  if (!since) return Status::ok_status();
  auto seconds = store::parse_duration_seconds(*since);
  if (!seconds.ok()) return make_error(seconds.status().code(), "--since: " + seconds.status().message());
  filter.since_ts = store::rfc3339_seconds_ago(*seconds);
  return Status::ok_status();
}

}  // namespace ladder::cli
