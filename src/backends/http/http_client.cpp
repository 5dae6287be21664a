// The only translation unit that includes Boost.Beast / Asio (compile time).
// Synchronous API over asynchronous operations: each send() runs its own io_context
// so that beast::tcp_stream deadlines (which only apply to async operations) hold.
#include <utility>  // before asio with Boost 1.74 on g++ 12

#include "backends/http/http_client.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <mutex>
#include <optional>
#include <type_traits>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace ladder::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCodeB = beast::error_code;

constexpr std::string_view kUserAgent = "ladder/0.1";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

enum class Phase { kConnect, kHandshake, kWrite, kRead, kIdle };

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

bool is_cut(const ErrorCodeB& ec) {
  return ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
         ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

Status body_cap_status(const std::string& what, const Request& request) {
  return make_error(ErrorCode::kBadResponse,
                    what + ": response body over " + std::to_string(request.max_body_bytes) + " bytes");
}

// One place that turns a transport error into a code from the error table.
Status transport_status(Phase phase, const ErrorCodeB& ec, const std::string& what, const Request& request) {
  if (ec == beast::error::timeout) {
    if (phase == Phase::kConnect || phase == Phase::kHandshake) {
      return make_error(ErrorCode::kTimeout, what + ": connect timed out (" + ms_text(request.connect_timeout) + ")");
    }
    if (phase == Phase::kIdle) {
      return make_error(ErrorCode::kTimeout,
                        what + ": stream idle: no data for " + ms_text(request.idle_timeout) + " (idle timeout)");
    }
    return make_error(ErrorCode::kTimeout, what + ": no complete response within " + ms_text(request.total_timeout));
  }
  switch (phase) {
    case Phase::kConnect:
      return make_error(ErrorCode::kUnavailable, what + ": cannot connect: " + ec.message());
    case Phase::kHandshake:
      return make_error(ErrorCode::kUnavailable, what + ": TLS handshake failed: " + ec.message());
    case Phase::kWrite:
      return make_error(ErrorCode::kConnectionReset, what + ": connection lost while sending: " + ec.message());
    case Phase::kRead:
    case Phase::kIdle:
      break;
  }
  if (ec == bhttp::error::body_limit) return body_cap_status(what, request);
  if (is_cut(ec)) {
    return make_error(ErrorCode::kConnectionReset,
                      what + ": connection closed before the response was complete: " + ec.message());
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category()) {
    return make_error(ErrorCode::kBadResponse, what + ": malformed HTTP response: " + ec.message());
  }
  return make_error(ErrorCode::kConnectionReset, what + ": read failed: " + ec.message());
}

std::optional<bhttp::verb> verb_of(std::string_view method) {
  if (method == "GET") return bhttp::verb::get;
  if (method == "POST") return bhttp::verb::post;
  if (method == "PUT") return bhttp::verb::put;
  if (method == "PATCH") return bhttp::verb::patch;
  if (method == "DELETE") return bhttp::verb::delete_;
  return std::nullopt;
}

bool is_success(unsigned status) { return status >= 200 && status < 300; }

// Drives connect -> (TLS handshake) -> write -> read header -> read body piece by piece
// as a chain of completion handlers on one io_context; run() returns when the chain
// ends. The body goes to `on_chunk` when it is set and the status is 2xx (streaming),
// otherwise into body().
template <class Stream>
class Exchange {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Exchange(Stream& stream, const Request& request, const Url& url, const tcp::resolver::results_type& endpoints,
           Clock::time_point connect_deadline, Clock::time_point deadline, const BodyChunkFn* on_chunk)
      : stream_(stream),
        request_(request),
        url_(url),
        endpoints_(endpoints),
        connect_deadline_(connect_deadline),
        deadline_(deadline),
        on_chunk_(on_chunk) {}

  void start() {
    auto& lowest = beast::get_lowest_layer(stream_);
    lowest.expires_at(connect_deadline_);
    lowest.async_connect(endpoints_, [this](const ErrorCodeB& ec, const tcp::endpoint&) {
      if (ec) return fail(Phase::kConnect, ec);
      if constexpr (kTls) {
        stream_.async_handshake(asio::ssl::stream_base::client, [this](const ErrorCodeB& hec) {
          if (hec) return fail(Phase::kHandshake, hec);
          write();
        });
      } else {
        write();
      }
    });
  }

  bool failed() const { return failed_; }
  bool over_cap() const { return over_cap_; }
  Phase phase() const { return phase_; }
  const ErrorCodeB& error() const { return error_; }
  const bhttp::response_header<>& header() { return parser_.get().base(); }
  std::string& body() { return body_; }

  void build(bhttp::verb verb, const std::string& host_header) {
    req_.method(verb);
    req_.target(url_.target);
    req_.version(11);
    req_.set(bhttp::field::host, host_header);
    req_.set(bhttp::field::user_agent, std::string(kUserAgent));
    req_.set(bhttp::field::accept,
             on_chunk_ != nullptr ? "application/json, text/event-stream, application/x-ndjson" : "application/json");
    req_.set(bhttp::field::connection, "close");
    const bool has_payload = verb == bhttp::verb::post || verb == bhttp::verb::put || verb == bhttp::verb::patch;
    if (!request_.body.empty() || has_payload) req_.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : request_.headers) req_.set(name, value);
    req_.body() = request_.body;
    req_.prepare_payload();
    if (request_.max_body_bytes > 0) {
      parser_.body_limit(static_cast<std::uint64_t>(request_.max_body_bytes));
    } else {
      parser_.body_limit(boost::none);
    }
  }

 private:
  void write() {
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    bhttp::async_write(stream_, req_, [this](const ErrorCodeB& ec, std::size_t) {
      if (ec) return fail(Phase::kWrite, ec);
      bhttp::async_read_header(stream_, buffer_, parser_, [this](const ErrorCodeB& rec, std::size_t) {
        if (rec) return fail(Phase::kRead, rec);
        streaming_ = on_chunk_ != nullptr && is_success(parser_.get().result_int());
        read_body();
      });
    });
  }

  void read_body() {
    if (parser_.is_done()) return finish();
    auto& body = parser_.get().body();
    body.data = piece_;
    body.size = sizeof(piece_);
    // Idle limit: only while streaming, and only once the body has begun.
    Clock::time_point expiry = deadline_;
    idle_armed_ = false;
    if (streaming_ && received_ > 0 && request_.idle_timeout.count() > 0) {
      const auto idle = Clock::now() + request_.idle_timeout;
      if (idle < expiry) {
        expiry = idle;
        idle_armed_ = true;
      }
    }
    beast::get_lowest_layer(stream_).expires_at(expiry);
    bhttp::async_read_some(stream_, buffer_, parser_, [this](ErrorCodeB ec, std::size_t) {
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return fail(idle_armed_ ? Phase::kIdle : Phase::kRead, ec);
      const std::size_t n = sizeof(piece_) - parser_.get().body().size;
      if (n > 0) {
        received_ += n;
        // Beast enforces body_limit only on some read patterns: count here as well.
        if (request_.max_body_bytes > 0 && received_ > request_.max_body_bytes) {
          over_cap_ = true;
          return fail(Phase::kRead, bhttp::error::body_limit);
        }
        if (streaming_) {
          if (!(*on_chunk_)(std::string_view(piece_, n))) return finish();  // the caller stopped
        } else {
          body_.append(piece_, n);
        }
      }
      read_body();
    });
  }

  void finish() {
    ErrorCodeB ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  void fail(Phase phase, const ErrorCodeB& ec) {
    failed_ = true;
    phase_ = phase;
    error_ = ec;
    ErrorCodeB ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  Stream& stream_;
  const Request& request_;
  const Url& url_;
  const tcp::resolver::results_type& endpoints_;
  Clock::time_point connect_deadline_;
  Clock::time_point deadline_;
  const BodyChunkFn* on_chunk_;
  bhttp::request<bhttp::string_body> req_;
  bhttp::response_parser<bhttp::buffer_body> parser_;
  beast::flat_buffer buffer_;
  char piece_[16 * 1024];
  std::string body_;
  std::size_t received_ = 0;
  bool streaming_ = false;
  bool idle_armed_ = false;
  bool over_cap_ = false;
  bool failed_ = false;
  Phase phase_ = Phase::kConnect;
  ErrorCodeB error_;
};

template <class Stream>
Result<Response> run_exchange(asio::io_context& ioc, Stream& stream, const Request& request, const Url& url,
                              bhttp::verb verb, const tcp::resolver::results_type& endpoints,
                              Clock::time_point connect_deadline, Clock::time_point deadline, const std::string& what,
                              const BodyChunkFn* on_chunk) {
  auto exchange =
      std::make_unique<Exchange<Stream>>(stream, request, url, endpoints, connect_deadline, deadline, on_chunk);
  const bool default_port = (url.tls() && url.port == "443") || (!url.tls() && url.port == "80");
  std::string host_header = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (!default_port) host_header += ":" + url.port;
  exchange->build(verb, host_header);
  exchange->start();
  ioc.run();
  if (exchange->over_cap()) return body_cap_status(what, request);
  if (exchange->failed()) return transport_status(exchange->phase(), exchange->error(), what, request);
  Response response;
  const auto& header = exchange->header();
  response.status = static_cast<int>(header.result_int());
  for (const auto& field : header) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(exchange->body());
  return response;
}

}  // namespace

std::string Url::to_string() const {
  std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + host_part + ":" + port + target;
}

Result<Url> parse_url(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kConfigInvalid, "invalid URL '" + std::string(text) + "': " + why);
  };
  Url url;
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad("missing scheme (http:// or https://)");
  std::string scheme(text.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") return bad("scheme must be http or https");
  url.scheme = scheme;
  std::string_view rest = text.substr(sep + 3);
  auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  url.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (!url.target.empty() && url.target.front() == '?') url.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    // Not echoed: the URL carries a secret.
    return make_error(ErrorCode::kConfigInvalid,
                      "invalid URL: credentials in the URL are not allowed; use api_key_env");
  }
  if (authority.empty()) return bad("missing host");
  std::string_view port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 literal");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after IPv6 literal");
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      url.host = std::string(authority.substr(0, colon));
      port = authority.substr(colon + 1);
    } else {
      url.host = std::string(authority);
    }
  }
  if (url.host.empty()) return bad("missing host");
  if (port.empty()) {
    url.port = url.tls() ? "443" : "80";
  } else {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return bad("port must be a number");
    }
    int value = std::stoi(std::string(port));
    if (value < 1 || value > 65535) return bad("port out of range");
    url.port = std::string(port);
  }
  return url;
}

std::string join_url(std::string_view base, std::string_view path) {
  std::string joined(base);
  while (!joined.empty() && joined.back() == '/') joined.pop_back();
  std::string_view p = path;
  if (!p.empty() && p.front() != '/') {
    joined += '/';
  }
  // Drop a leading segment of `path` that the base's own path already ends with ("/v1").
  auto scheme_end = joined.find("://");
  auto base_path = joined.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (base_path != std::string::npos && p.size() > 1 && p.front() == '/') {
    auto next = p.find('/', 1);
    std::string_view first = p.substr(0, next);
    if (first.size() < p.size() && joined.size() - base_path >= first.size() &&
        std::string_view(joined).substr(joined.size() - first.size()) == first) {
      p = p.substr(first.size());
    }
  }
  joined += p;
  return joined;
}

std::optional<std::string> Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

struct Client::Impl {
  std::once_flag tls_once;
  std::unique_ptr<asio::ssl::context> tls;
  std::string tls_error;

  asio::ssl::context* tls_context() {
    std::call_once(tls_once, [this] {
      try {
        auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        ctx->set_default_verify_paths();
        ctx->set_verify_mode(asio::ssl::verify_peer);
        tls = std::move(ctx);
      } catch (const boost::system::system_error& e) {
        tls_error = e.what();
      }
    });
    return tls.get();
  }
};

Client::Client() : impl_(std::make_unique<Impl>()) {}
Client::~Client() = default;

Result<Response> Client::send(const Request& request) const { return exchange(request, nullptr); }

Result<Response> Client::send_stream(const Request& request, const BodyChunkFn& on_body_chunk) const {
  return exchange(request, &on_body_chunk);
}

Result<Response> Client::exchange(const Request& request, const BodyChunkFn* on_body_chunk) const {
  auto parsed = parse_url(request.url);
  if (!parsed.ok()) return parsed.status();
  const Url& url = parsed.value();
  const std::string what = request.method + " " + url.to_string();
  const auto verb = verb_of(request.method);
  if (!verb) return make_error(ErrorCode::kInternal, what + ": unsupported method");
  if (*verb == bhttp::verb::get && !request.body.empty()) {
    return make_error(ErrorCode::kInternal, what + ": a GET request carries no body");
  }

  const auto start = Clock::now();
  const auto deadline = start + request.total_timeout;
  const auto connect_deadline = std::min(deadline, start + request.connect_timeout);

  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    asio::steady_timer resolve_timer(ioc);
    tcp::resolver::results_type endpoints;
    ErrorCodeB resolve_error;
    bool resolve_timed_out = false;
    resolve_timer.expires_at(connect_deadline);
    resolve_timer.async_wait([&](const ErrorCodeB& ec) {
      if (!ec) {
        resolve_timed_out = true;
        resolver.cancel();
      }
    });
    resolver.async_resolve(url.host, url.port, [&](const ErrorCodeB& ec, tcp::resolver::results_type results) {
      resolve_timer.cancel();
      resolve_error = ec;
      endpoints = std::move(results);
    });
    ioc.run();
    if (resolve_timed_out) {
      return make_error(ErrorCode::kTimeout,
                        what + ": name resolution timed out (" + ms_text(request.connect_timeout) + ")");
    }
    if (resolve_error) {
      return make_error(ErrorCode::kUnavailable, what + ": cannot resolve host: " + resolve_error.message());
    }
    ioc.restart();

    if (url.tls()) {
      asio::ssl::context* ctx = impl_->tls_context();
      if (ctx == nullptr) {
        return make_error(ErrorCode::kUnavailable, what + ": TLS unavailable: " + impl_->tls_error);
      }
      beast::ssl_stream<beast::tcp_stream> stream(ioc, *ctx);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
        return make_error(ErrorCode::kUnavailable, what + ": cannot set TLS server name");
      }
      stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
      return run_exchange(ioc, stream, request, url, *verb, endpoints, connect_deadline, deadline, what, on_body_chunk);
    }
    beast::tcp_stream stream(ioc);
    return run_exchange(ioc, stream, request, url, *verb, endpoints, connect_deadline, deadline, what, on_body_chunk);
  } catch (const std::exception& e) {
    // Asio reports setup failures (socket creation, TLS context) by exception.
    return make_error(ErrorCode::kUnavailable, what + ": " + e.what());
  }
}

}  // namespace ladder::http
