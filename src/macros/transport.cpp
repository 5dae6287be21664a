#include "macros/transport.h"

namespace ladder::macros {

using nlohmann::json;

namespace {

// Headers worth keeping in a recording: what the runner reads back.
bool kept_header(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "link" || lower == "retry-after" || lower.rfind("x-ratelimit-", 0) == 0 || lower == "content-type";
}

json body_json(const std::string& body) {
  if (body.empty()) return nullptr;
  try {
    return json::parse(body);
  } catch (const json::exception&) {
    return json{{"raw", body}};
  }
}

}  // namespace

std::string url_target(const std::string& url) {
  auto parsed = http::parse_url(url);
  return parsed.ok() ? parsed->target : url;
}

ReplayTransport::ReplayTransport(json exchanges) : exchanges_(std::move(exchanges)), used_(exchanges_.size(), false) {}

Result<http::Response> ReplayTransport::send(const http::Request& request) {
  const std::string target = url_target(request.url);
  json body = body_json(request.body);
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < exchanges_.size(); ++i) {
    if (used_[i]) continue;
    const json& rq = exchanges_[i]["request"];
    if (rq.value("method", "") != request.method || rq.value("url", "") != target) continue;
    if (rq.contains("body") && rq["body"] != body) continue;
    used_[i] = true;
    const json& rs = exchanges_[i]["response"];
    http::Response response;
    response.status = rs.value("status", 200);
    const json headers = rs.value("headers", json::object());
    for (const auto& [k, v] : headers.items())
      response.headers.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    if (rs.contains("body")) {
      const json& b = rs["body"];
      if (b.is_object() && b.size() == 1 && b.contains("raw") && b["raw"].is_string()) {
        response.body = b["raw"].get<std::string>();
      } else if (!b.is_null()) {
        response.body = b.dump();
      }
    }
    return response;
  }
  std::string what = request.method + " " + target + (request.body.empty() ? "" : " " + request.body);
  unexpected_.push_back("unexpected request " + what);
  return make_error(ErrorCode::kNotFound, "no recorded response for " + what);
}

std::vector<std::string> ReplayTransport::problems() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out = unexpected_;
  for (std::size_t i = 0; i < exchanges_.size(); ++i) {
    if (used_[i]) continue;
    const json& rq = exchanges_[i]["request"];
    out.push_back("recorded request not made: " + rq.value("method", "") + " " + rq.value("url", ""));
  }
  return out;
}

Result<http::Response> RecordingTransport::send(const http::Request& request) {
  auto response = inner_->send(request);
  json ex{{"request", {{"method", request.method}, {"url", url_target(request.url)}}}};
  if (!request.body.empty()) ex["request"]["body"] = body_json(request.body);
  if (response.ok()) {
    json headers = json::object();
    for (const auto& [k, v] : response->headers)
      if (kept_header(k)) headers[k] = v;
    ex["response"] = {{"status", response->status}, {"headers", headers}, {"body", body_json(response->body)}};
    std::lock_guard<std::mutex> lock(mu_);
    exchanges_.push_back(std::move(ex));
  }
  return response;
}

json RecordingTransport::exchanges() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exchanges_;
}

}  // namespace ladder::macros
