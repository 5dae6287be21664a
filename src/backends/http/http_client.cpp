// The only translation unit that includes Boost.Beast / Asio (compile time).
// One event loop per client: an io_context run by one thread for the client's lifetime.
// Each exchange is a chain of completion handlers on its connection's strand; the
// calling thread waits on a Channel for the result (and, when streaming, for each piece
// of the body, which it hands to the callback before letting the chain read on).
#include <utility>  // before asio with Boost 1.74 on g++ 12

#include "backends/http/http_client.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

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
using Strand = asio::strand<asio::io_context::executor_type>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::string_view kUserAgent = "ladder/0.1";

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

// One connection, plain or TLS, with its own strand; it goes back to the pool after an
// exchange that left it reusable.
struct Conn {
  explicit Conn(Strand s) : strand(s), idle_timer(s) {}
  Strand strand;
  std::optional<beast::tcp_stream> tcp;
  std::optional<TlsStream> tls;
  asio::steady_timer idle_timer;
  beast::flat_buffer buffer;
  std::string key;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *tcp; }
  template <class F>
  void visit(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*tcp);
    }
  }
  void close() {
    ErrorCodeB ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }
};

// Where the loop hands a piece of a streamed body or the result to the waiting caller.
struct Channel {
  std::mutex mu;
  std::condition_variable cv;
  bool has_chunk = false;
  std::string chunk;
  std::optional<Result<Response>> result;
  std::function<void(Result<Response>)> on_done;  // send_async(): runs instead of waking a caller
  Client::ChunkSinkFn on_chunk;                   // send_stream_async(): gets the pieces on the loop
};

// The event loop (its own, or the caller's), the idle-connection pool, the name cache and
// the TLS context.
class Engine {
 public:
  explicit Engine(ClientOptions options)
      : options_(options),
        owned_(std::make_unique<asio::io_context>()),
        ioc_(*owned_),
        work_(asio::make_work_guard(ioc_)),
        loop_([this] { ioc_.run(); }) {}
  // The caller's loop: it runs and ends when its owner says so.
  Engine(asio::io_context& loop, ClientOptions options) : options_(options), ioc_(loop) {}
  ~Engine() {
    if (owned_) {
      work_->reset();
      ioc_.stop();
      loop_.join();
    }
    std::lock_guard lock(mu_);
    idle_.clear();
  }

  asio::io_context& ioc() { return ioc_; }
  const ClientOptions& options() const { return options_; }

  asio::ssl::context* tls_context(std::string* error) {
    std::call_once(tls_once_, [this] {
      try {
        auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        ctx->set_default_verify_paths();
        ctx->set_verify_mode(asio::ssl::verify_peer);
        tls_ = std::move(ctx);
      } catch (const boost::system::system_error& e) {
        tls_error_ = e.what();
      }
    });
    if (!tls_) *error = tls_error_;
    return tls_.get();
  }

  // The most recently used idle connection to `key`, taken out of the pool.
  std::shared_ptr<Conn> checkout(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = idle_.find(key);
    if (it == idle_.end() || it->second.empty()) return nullptr;
    auto conn = std::move(it->second.back());
    it->second.pop_back();
    ++reused_;
    return conn;
  }

  // On the connection's strand: keeps it for the next request to the same host, or
  // closes it when the pool for that host is full.
  void checkin(const std::shared_ptr<Conn>& conn) {
    conn->idle_timer.expires_after(options_.idle_expiry);
    conn->idle_timer.async_wait([this, weak = std::weak_ptr<Conn>(conn)](const ErrorCodeB& ec) {
      if (ec) return;
      auto expired = weak.lock();
      if (expired && remove(expired)) expired->close();
    });
    std::unique_lock lock(mu_);
    auto& queue = idle_[conn->key];
    if (queue.size() >= options_.max_idle_per_host) {
      lock.unlock();
      conn->idle_timer.cancel();
      conn->close();
      return;
    }
    queue.push_back(conn);
  }

  std::optional<tcp::resolver::results_type> cached_endpoints(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = dns_.find(key);
    if (it == dns_.end() || it->second.second < Clock::now()) return std::nullopt;
    return it->second.first;
  }
  void remember_endpoints(const std::string& key, const tcp::resolver::results_type& endpoints) {
    std::lock_guard lock(mu_);
    dns_[key] = {endpoints, Clock::now() + options_.dns_ttl};
  }

  void count_opened() { ++opened_; }
  void count_stale_retry() { ++stale_retries_; }

  ClientStats stats() {
    ClientStats stats;
    std::lock_guard lock(mu_);
    for (const auto& [key, queue] : idle_) stats.idle += queue.size();
    stats.opened = opened_;
    stats.reused = reused_;
    stats.stale_retries = stale_retries_;
    return stats;
  }

 private:
  bool remove(const std::shared_ptr<Conn>& conn) {
    std::lock_guard lock(mu_);
    auto it = idle_.find(conn->key);
    if (it == idle_.end()) return false;
    auto pos = std::find(it->second.begin(), it->second.end(), conn);
    if (pos == it->second.end()) return false;
    it->second.erase(pos);
    return true;
  }

  ClientOptions options_;
  std::unique_ptr<asio::io_context> owned_;  // null on the caller's loop
  asio::io_context& ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;  // own loop only
  std::once_flag tls_once_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::string tls_error_;
  std::mutex mu_;
  std::map<std::string, std::deque<std::shared_ptr<Conn>>> idle_;
  std::map<std::string, std::pair<tcp::resolver::results_type, Clock::time_point>> dns_;
  std::uint64_t opened_ = 0;
  std::uint64_t reused_ = 0;
  std::uint64_t stale_retries_ = 0;
  std::thread loop_;  // last: starts once the members above exist
};

// The timeouts and cap of a request (what the chain reads after the caller's Request
// may be gone).
Request limits_of(const Request& request) {
  Request limits;
  limits.connect_timeout = request.connect_timeout;
  limits.total_timeout = request.total_timeout;
  limits.idle_timeout = request.idle_timeout;
  limits.max_body_bytes = request.max_body_bytes;
  return limits;
}

// One exchange: take a pooled connection or open one (resolve, connect, TLS handshake),
// write the request, read the header, read the body piece by piece, hand the result to
// the Channel. Every step after the connection exists runs on the connection's strand.
class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(Engine& engine, const Request& request, Url url, bhttp::verb verb, std::string what, bool streaming,
       std::shared_ptr<Channel> channel)
      : engine_(engine),
        limits_(limits_of(request)),
        url_(std::move(url)),
        key_(url_.to_string().substr(0, url_.to_string().size() - url_.target.size())),
        what_(std::move(what)),
        want_stream_(streaming),
        channel_(std::move(channel)),
        resolver_(engine.ioc()),
        resolve_timer_(engine.ioc()) {
    const auto start = Clock::now();
    deadline_ = start + request.total_timeout;
    connect_deadline_ = std::min(deadline_, start + request.connect_timeout);
    build(request, verb);
  }

  // On the loop.
  void start() {
    conn_ = engine_.checkout(key_);
    if (!conn_) return open();
    reused_ = true;
    asio::dispatch(conn_->strand, [self = shared_from_this()] {
      self->conn_->idle_timer.cancel();
      self->begin();
    });
  }

  // From the caller once it handled a streamed piece.
  void resume(bool keep_going) {
    asio::post(conn_->strand, [self = shared_from_this(), keep_going] {
      if (keep_going) return self->read_body();
      self->stopped_ = true;
      self->succeed();
    });
  }

 private:
  void build(const Request& request, bhttp::verb verb) {
    const bool default_port = (url_.tls() && url_.port == "443") || (!url_.tls() && url_.port == "80");
    std::string host_header = url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    if (!default_port) host_header += ":" + url_.port;
    req_.method(verb);
    req_.target(url_.target);
    req_.version(11);
    req_.set(bhttp::field::host, host_header);
    req_.set(bhttp::field::user_agent, std::string(kUserAgent));
    req_.set(bhttp::field::accept,
             want_stream_ ? "application/json, text/event-stream, application/x-ndjson" : "application/json");
    const bool has_payload = verb == bhttp::verb::post || verb == bhttp::verb::put || verb == bhttp::verb::patch;
    if (!request.body.empty() || has_payload) req_.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : request.headers) req_.set(name, value);
    req_.body() = request.body;
    req_.prepare_payload();
  }

  void open() {
    conn_ = std::make_shared<Conn>(asio::make_strand(engine_.ioc()));
    conn_->key = key_;
    try {
      if (url_.tls()) {
        std::string error;
        asio::ssl::context* ctx = engine_.tls_context(&error);
        if (ctx == nullptr) return deliver(make_error(ErrorCode::kUnavailable, what_ + ": TLS unavailable: " + error));
        conn_->tls.emplace(conn_->strand, *ctx);
        if (!SSL_set_tlsext_host_name(conn_->tls->native_handle(), url_.host.c_str())) {
          return deliver(make_error(ErrorCode::kUnavailable, what_ + ": cannot set TLS server name"));
        }
        conn_->tls->set_verify_callback(asio::ssl::host_name_verification(url_.host));
      } else {
        conn_->tcp.emplace(conn_->strand);
      }
    } catch (const std::exception& e) {
      return deliver(make_error(ErrorCode::kUnavailable, what_ + ": " + e.what()));
    }
    engine_.count_opened();
    if (auto endpoints = engine_.cached_endpoints(key_)) return connect(*endpoints);
    resolve_timer_.expires_at(connect_deadline_);
    resolve_timer_.async_wait([self = shared_from_this()](const ErrorCodeB& ec) {
      if (ec) return;
      self->resolve_timed_out_ = true;
      self->resolver_.cancel();
    });
    resolver_.async_resolve(
        url_.host, url_.port, [self = shared_from_this()](const ErrorCodeB& ec, tcp::resolver::results_type results) {
          self->resolve_timer_.cancel();
          if (self->resolve_timed_out_) {
            return self->deliver(make_error(ErrorCode::kTimeout, self->what_ + ": name resolution timed out (" +
                                                                     ms_text(self->limits_.connect_timeout) + ")"));
          }
          if (ec) {
            return self->deliver(
                make_error(ErrorCode::kUnavailable, self->what_ + ": cannot resolve host: " + ec.message()));
          }
          self->engine_.remember_endpoints(self->key_, results);
          self->connect(results);
        });
  }

  void connect(const tcp::resolver::results_type& endpoints) {
    endpoints_ = endpoints;
    asio::dispatch(conn_->strand, [self = shared_from_this()] {
      auto& lowest = self->conn_->lowest();
      lowest.expires_at(self->connect_deadline_);
      lowest.async_connect(self->endpoints_, [self](const ErrorCodeB& ec, const tcp::endpoint&) {
        if (ec) return self->fail(Phase::kConnect, ec);
        if (!self->conn_->tls) return self->begin();
        self->conn_->tls->async_handshake(asio::ssl::stream_base::client, [self](const ErrorCodeB& hec) {
          if (hec) return self->fail(Phase::kHandshake, hec);
          self->begin();
        });
      });
    });
  }

  void begin() {
    parser_.emplace();
    if (limits_.max_body_bytes > 0) {
      parser_->body_limit(static_cast<std::uint64_t>(limits_.max_body_bytes));
    } else {
      parser_->body_limit(boost::none);
    }
    conn_->lowest().expires_at(deadline_);
    conn_->visit([this](auto& stream) {
      bhttp::async_write(stream, req_, [self = shared_from_this(), &stream](const ErrorCodeB& ec, std::size_t) {
        if (ec) return self->fail(Phase::kWrite, ec);
        bhttp::async_read_header(
            stream, self->conn_->buffer, *self->parser_, [self](const ErrorCodeB& rec, std::size_t) {
              if (rec) return self->fail(Phase::kRead, rec);
              self->header_done_ = true;
              self->streaming_ = self->want_stream_ && is_success(self->parser_->get().result_int());
              self->read_body();
            });
      });
    });
  }

  void read_body() {
    if (parser_->is_done()) return succeed();
    auto& body = parser_->get().body();
    body.data = piece_;
    body.size = sizeof(piece_);
    // Idle limit: only while streaming, and only once the body has begun.
    Clock::time_point expiry = deadline_;
    idle_armed_ = false;
    if (streaming_ && received_ > 0 && limits_.idle_timeout.count() > 0) {
      const auto idle = Clock::now() + limits_.idle_timeout;
      if (idle < expiry) {
        expiry = idle;
        idle_armed_ = true;
      }
    }
    conn_->lowest().expires_at(expiry);
    conn_->visit([this](auto& stream) {
      bhttp::async_read_some(stream, conn_->buffer, *parser_,
                             [self = shared_from_this()](ErrorCodeB ec, std::size_t) { self->on_piece(ec); });
    });
  }

  void on_piece(ErrorCodeB ec) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return fail(idle_armed_ ? Phase::kIdle : Phase::kRead, ec);
    const std::size_t n = sizeof(piece_) - parser_->get().body().size;
    if (n > 0) {
      received_ += n;
      // Beast enforces body_limit only on some read patterns: count here as well.
      if (limits_.max_body_bytes > 0 && received_ > limits_.max_body_bytes) {
        over_cap_ = true;
        return fail(Phase::kRead, bhttp::error::body_limit);
      }
      if (streaming_ && channel_->on_chunk) {
        // send_stream_async(): the sink resumes the chain when it dealt with the piece.
        channel_->on_chunk(std::string_view(piece_, n),
                           [self = shared_from_this()](bool keep_going) { self->resume(keep_going); });
        return;
      }
      if (streaming_) {
        // The caller runs its callback on its own thread and resumes the chain.
        std::lock_guard lock(channel_->mu);
        channel_->chunk.assign(piece_, n);
        channel_->has_chunk = true;
        channel_->cv.notify_one();
        return;
      }
      body_.append(piece_, n);
    }
    read_body();
  }

  void succeed() {
    Response response;
    const auto& header = parser_->get().base();
    response.status = static_cast<int>(header.result_int());
    for (const auto& field : header) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(body_);
    if (!stopped_ && parser_->is_done() && parser_->keep_alive()) {
      engine_.checkin(conn_);
    } else {
      conn_->close();
    }
    deliver(std::move(response));
  }

  void fail(Phase phase, const ErrorCodeB& ec) {
    conn_->close();
    // A kept-alive connection the server closed while it sat idle: nothing of the
    // response arrived, so the request is sent once more on a fresh connection.
    const bool stale = reused_ && !header_done_ && ec != beast::error::timeout &&
                       (phase == Phase::kWrite || (phase == Phase::kRead && is_cut(ec)));
    if (stale) {
      reused_ = false;
      engine_.count_stale_retry();
      return asio::post(engine_.ioc(), [self = shared_from_this()] { self->open(); });
    }
    if (over_cap_) return deliver(body_cap_status(what_, limits_));
    deliver(transport_status(phase, ec, what_, limits_));
  }

  void deliver(Result<Response> result) {
    if (channel_->on_done) return channel_->on_done(std::move(result));
    std::lock_guard lock(channel_->mu);
    channel_->result.emplace(std::move(result));
    channel_->cv.notify_one();
  }

  Engine& engine_;
  Request limits_;
  Url url_;
  std::string key_;
  std::string what_;
  bool want_stream_;
  std::shared_ptr<Channel> channel_;
  tcp::resolver resolver_;
  asio::steady_timer resolve_timer_;
  bool resolve_timed_out_ = false;
  tcp::resolver::results_type endpoints_;
  Clock::time_point connect_deadline_;
  Clock::time_point deadline_;
  std::shared_ptr<Conn> conn_;
  bhttp::request<bhttp::string_body> req_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
  char piece_[16 * 1024];
  std::string body_;
  std::size_t received_ = 0;
  bool reused_ = false;
  bool header_done_ = false;
  bool streaming_ = false;
  bool idle_armed_ = false;
  bool over_cap_ = false;
  bool stopped_ = false;
};

}  // namespace

struct Client::Impl {
  explicit Impl(ClientOptions options) : engine(options) {}
  Impl(asio::io_context& loop, ClientOptions options) : engine(loop, options) {}
  Engine engine;
};

Client::Client() : Client(ClientOptions{}) {}
Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(options)) {}
Client::Client(asio::io_context& loop, ClientOptions options) : impl_(std::make_unique<Impl>(loop, options)) {}
Client::~Client() = default;

Result<Response> Client::send(const Request& request) const { return exchange(request, nullptr); }

Result<Response> Client::send_stream(const Request& request, const BodyChunkFn& on_body_chunk) const {
  return exchange(request, &on_body_chunk);
}

ClientStats Client::stats() const { return impl_->engine.stats(); }

Status Client::prepare(const Request& request, Url* url, std::string* what) const {
  auto parsed = parse_url(request.url);
  if (!parsed.ok()) return parsed.status();
  *url = std::move(parsed.value());
  *what = request.method + " " + url->to_string();
  const auto verb = verb_of(request.method);
  if (!verb) return make_error(ErrorCode::kInternal, *what + ": unsupported method");
  if (*verb == bhttp::verb::get && !request.body.empty()) {
    return make_error(ErrorCode::kInternal, *what + ": a GET request carries no body");
  }
  return Status::ok_status();
}

void Client::send_async(const Request& request, DoneFn done) const {
  start_async(request, /*streaming=*/false, {}, std::move(done));
}

void Client::send_stream_async(const Request& request, ChunkSinkFn on_chunk, DoneFn done) const {
  start_async(request, /*streaming=*/true, std::move(on_chunk), std::move(done));
}

void Client::start_async(const Request& request, bool streaming, ChunkSinkFn on_chunk, DoneFn done) const {
  Url url;
  std::string what;
  Engine& engine = impl_->engine;
  Status checked = prepare(request, &url, &what);
  if (!checked.ok()) {
    asio::post(engine.ioc(), [done = std::move(done), checked] { done(checked); });
    return;
  }
  auto channel = std::make_shared<Channel>();
  channel->on_done = std::move(done);
  channel->on_chunk = std::move(on_chunk);
  auto call =
      std::make_shared<Call>(engine, request, std::move(url), *verb_of(request.method), what, streaming, channel);
  asio::post(engine.ioc(), [call] { call->start(); });
}

void Client::after(std::chrono::milliseconds delay, std::function<void()> fn) const {
  // No wait: a plain post (a timer would arm and disarm the loop's timerfd each time).
  if (delay.count() <= 0) return asio::post(impl_->engine.ioc(), std::move(fn));
  auto timer = std::make_shared<asio::steady_timer>(impl_->engine.ioc(), delay);
  timer->async_wait([timer, fn = std::move(fn)](const ErrorCodeB&) { fn(); });
}

Result<Response> Client::exchange(const Request& request, const BodyChunkFn* on_body_chunk) const {
  Url url;
  std::string what;
  Status checked = prepare(request, &url, &what);
  if (!checked.ok()) return checked;
  const auto verb = verb_of(request.method);
  Engine& engine = impl_->engine;
  if (engine.ioc().get_executor().running_in_this_thread()) {
    return make_error(ErrorCode::kInternal, what + ": a blocking call from the HTTP client's own event loop");
  }
  auto channel = std::make_shared<Channel>();
  auto call = std::make_shared<Call>(engine, request, std::move(url), *verb, what, on_body_chunk != nullptr, channel);
  asio::post(engine.ioc(), [call] { call->start(); });
  for (;;) {
    std::unique_lock lock(channel->mu);
    channel->cv.wait(lock, [&] { return channel->has_chunk || channel->result.has_value(); });
    if (channel->result) return std::move(*channel->result);
    std::string chunk = std::move(channel->chunk);
    channel->has_chunk = false;
    lock.unlock();
    call->resume((*on_body_chunk)(chunk));
  }
}

}  // namespace ladder::http
