// Test helpers for black-box tests of `ladder serve`: a plain-socket HTTP/1.1 client, the
// fake frontier process and a `ladder serve` process on 127.0.0.1. POSIX only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.h"

namespace ladder::testing {

inline const std::string kSource = LADDER_SOURCE_DIR;
inline const std::string kLadder = std::string(LADDER_BINARY_DIR) + "/ladder";
inline const std::string kModel = kSource + "/models/gemma-3-270m-q4_k_m.gguf";
inline const std::string kAdminToken = "admin-token-for-tests";
inline const std::string kAliceKey = "sk-alice-test-key";
inline const std::string kDependencyLog = "ERROR: No matching distribution found for requests==99.0\n";

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = -1;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json_body() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One HTTP/1.1 request text; `connection` is the Connection header's value.
std::string request_text(const std::string& method, const std::string& path, const std::string& body,
                         const Headers& headers, const std::string& connection);
// A whole response as received (status -1 when it has no status line and headers);
// decodes a chunked body.
Response parse_response(const std::string& raw);

// HTTP/1.1 with headers, Connection: close; decodes a chunked body.
Response http(int port, const std::string& method, const std::string& path, const std::string& body,
              const Headers& headers = {});

nlohmann::json chat_body(const std::string& model, const std::string& content,
                         nlohmann::json extra = nlohmann::json::object());

// Data events of an SSE body, in order ("[DONE]" as a string).
std::vector<nlohmann::json> sse_events(const std::string& body);
// The concatenated `delta.content` of streamed chat chunks.
std::string streamed_text(const std::vector<nlohmann::json>& events);

// One fake frontier process (tests/fakes/fake_frontier.py).
struct Fake {
  Fake();
  void control(const std::string& path, const nlohmann::json& body);
  // Model requests received (health probes excluded).
  nlohmann::json posts() const;
  ServerProcess process;
  int port = 0;
};

// One `ladder serve` process on a free port; port stays 0 when it did not start.
// `stderr_path`: where the server's log goes (none when empty).
struct Serve {
  Serve(const std::vector<std::string>& extra, const std::string& policy, const std::string& stderr_path = "");
  Response get(const std::string& path, const std::string& key = kAliceKey) const;
  Response post(const std::string& path, const nlohmann::json& body, const std::string& key = kAliceKey) const;
  Response admin(const std::string& path, const nlohmann::json& body) const;
  int pid() const;
  std::unique_ptr<ServerProcess> process;
  int port = 0;
};

// The example policy with both tiers on fakes: the local tier an OpenAI-compatible fake
// at `local_port`, the frontier the Anthropic-shaped fake at `frontier_port`.
std::string fake_tiers_policy_text(int frontier_port, int local_port);

}  // namespace ladder::testing
