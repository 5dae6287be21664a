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

// Sends on an http::Client: one of its own (its own event loop and thread for the
// transport's life: `ladder run`, `ladder macro`), or one it borrows, which must outlive
// it (`ladder serve`: the server's one client on its I/O loop, whose pooled connections
// the backends share). send() blocks, so it must not run on the borrowed client's loop
// (the client answers kInternal there); the server runs macros on its workers.
class NetworkTransport : public Transport {
 public:
  NetworkTransport() : owned_(std::make_unique<http::Client>()), client_(*owned_) {}
  explicit NetworkTransport(const http::Client& client) : client_(client) {}
  Result<http::Response> send(const http::Request& request) override { return client_.send(request); }

 private:
  std::unique_ptr<http::Client> owned_;  // null when borrowed
  const http::Client& client_;
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
