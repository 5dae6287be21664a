#include "serve_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

#include <gtest/gtest.h>

namespace ladder::testing {

using nlohmann::json;

std::string request_text(const std::string& method, const std::string& path, const std::string& body,
                         const Headers& headers, const std::string& connection) {
  std::ostringstream req;
  req << method << " " << path << " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: " << connection << "\r\n";
  for (const auto& [k, v] : headers) req << k << ": " << v << "\r\n";
  req << "Content-Type: application/json\r\nContent-Length: " << body.size() << "\r\n\r\n" << body;
  return req.str();
}

Response parse_response(const std::string& raw) {
  Response r;
  auto sep = raw.find("\r\n\r\n");
  if (raw.size() < 12 || sep == std::string::npos) return r;
  r.status = std::atoi(raw.substr(9, 3).c_str());
  std::istringstream hs(raw.substr(0, sep));
  std::string line;
  std::getline(hs, line);
  while (std::getline(hs, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[name] = value;
  }
  std::string payload = raw.substr(sep + 4);
  if (r.header("transfer-encoding") == "chunked") {
    std::size_t pos = 0;
    while (pos < payload.size()) {
      auto eol = payload.find("\r\n", pos);
      if (eol == std::string::npos) break;
      std::size_t size = std::stoul(payload.substr(pos, eol - pos), nullptr, 16);
      if (size == 0) break;
      r.body += payload.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
  } else {
    r.body = payload;
  }
  return r;
}

Response http(int port, const std::string& method, const std::string& path, const std::string& body,
              const Headers& headers) {
  int fd = connect_loopback(port);
  if (fd < 0) return {};
  const std::string out = request_text(method, path, body, headers, "close");
  for (std::size_t off = 0; off < out.size();) {
    ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) raw.append(buf, static_cast<std::size_t>(n));
  close(fd);
  return parse_response(raw);
}

json chat_body(const std::string& model, const std::string& content, json extra) {
  json b = {{"model", model}, {"messages", {{{"role", "user"}, {"content", content}}}}};
  b.update(extra);
  return b;
}

Fake::Fake() : process({"python3", kSource + "/tests/fakes/fake_frontier.py"}) {
  std::string line = process.read_line(30);
  if (line.rfind("PORT ", 0) == 0) port = std::stoi(line.substr(5));
}

void Fake::control(const std::string& path, const json& body) {
  EXPECT_EQ(http_request(port, "POST", path, body.dump(), nullptr), 200) << path;
}

json Fake::posts() const {
  std::string body;
  http_request(port, "GET", "/_requests", "", &body);
  json all = json::parse(body), out = json::array();
  for (auto& r : all)
    if (r["method"] == "POST") out.push_back(r);
  return out;
}

std::vector<nlohmann::json> sse_events(const std::string& body) {
  std::vector<nlohmann::json> out;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("data: ", 0) != 0) continue;
    std::string data = line.substr(6);
    out.push_back(data == "[DONE]" ? nlohmann::json("[DONE]") : nlohmann::json::parse(data));
  }
  return out;
}

std::string streamed_text(const std::vector<nlohmann::json>& events) {
  std::string text;
  for (const auto& e : events)
    if (e.is_object() && e.contains("choices") && !e["choices"].empty() && e["choices"][0]["delta"].contains("content"))
      text += e["choices"][0]["delta"]["content"].get<std::string>();
  return text;
}

Serve::Serve(const std::vector<std::string>& extra, const std::string& policy, const std::string& stderr_path) {
  std::vector<std::string> argv = {kLadder, "serve", "--policy", policy, "--port", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process = std::make_unique<ServerProcess>(argv, stderr_path);
  std::string line = process->read_line(180);
  if (line.rfind("listening on 127.0.0.1:", 0) == 0) port = std::stoi(line.substr(23));
}

Response Serve::get(const std::string& path, const std::string& key) const {
  return http(port, "GET", path, "", {{"Authorization", "Bearer " + key}});
}

Response Serve::post(const std::string& path, const json& body, const std::string& key) const {
  return http(port, "POST", path, body.dump(), {{"Authorization", "Bearer " + key}});
}

Response Serve::admin(const std::string& path, const json& body) const {
  return http(port, "POST", path, body.dump(), {{"Authorization", "Bearer " + kAdminToken}});
}

int Serve::pid() const {
  auto r = http(port, "GET", "/admin/state", "", {{"Authorization", "Bearer " + kAdminToken}});
  return r.status == 200 ? r.json_body()["pid"].get<int>() : -1;
}

std::string fake_tiers_policy_text(int frontier_port, int local_port) {
  std::string text = example_policy_text(kModel);
  replace_all(text, "http://127.0.0.1:8089", "http://127.0.0.1:" + std::to_string(frontier_port));
  auto start = text.find("  gemma-local:");
  auto end = text.find("\n  frontier:", start);
  text.replace(start, end - start,
               "  gemma-local:\n    backend: openai\n    base_url: http://127.0.0.1:" + std::to_string(local_port) +
                   "\n    model: local-fake\n    connect_timeout_ms: 300\n    retry:\n      max_retries: 0");
  return text;
}

}  // namespace ladder::testing
