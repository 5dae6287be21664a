// Where a macro's HTTP steps go: the network (http::Client), a fixture's recorded
// exchanges (no network), or the network with every exchange recorded.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/http/http_client.h"

namespace ladder::macros {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<http::Response> send(const http::Request& request) = 0;
};

class NetworkTransport : public Transport {
 public:
  Result<http::Response> send(const http::Request& request) override { return client_.send(request); }

 private:
  http::Client client_;
};

// Answers from recorded exchanges ({request:{method,url,body?}, response:{status,headers,
// body}}), matched by method, path-and-query and (when recorded) body, each used once.
// A request with no recorded answer fails with kNotFound and is listed in problems().
class ReplayTransport : public Transport {
 public:
  explicit ReplayTransport(nlohmann::json exchanges);
  Result<http::Response> send(const http::Request& request) override;
  // Unexpected requests, then recorded exchanges nobody asked for.
  std::vector<std::string> problems() const;

 private:
  mutable std::mutex mu_;  // guards used_ and unexpected_
  nlohmann::json exchanges_;
  std::vector<bool> used_;
  std::vector<std::string> unexpected_;
};

// Sends through another transport and keeps each exchange in the fixture format.
class RecordingTransport : public Transport {
 public:
  explicit RecordingTransport(std::shared_ptr<Transport> inner) : inner_(std::move(inner)) {}
  Result<http::Response> send(const http::Request& request) override;
  nlohmann::json exchanges() const;

 private:
  std::shared_ptr<Transport> inner_;
  mutable std::mutex mu_;  // guards exchanges_
  nlohmann::json exchanges_ = nlohmann::json::array();
};

// Path and query of a URL ("/repos/a/b/pulls?per_page=5"); the URL itself when it does
// not parse.
std::string url_target(const std::string& url);

}  // namespace ladder::macros
