// The HTTP client's connection pool against a real HTTP/1.1 server on 127.0.0.1 port 0
// (Boost.Beast, one thread per connection) that counts the connections it accepts and
// sees closed.
#include <utility>  // before asio with Boost 1.74 on g++ 12

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "backends/http/http_client.h"

namespace ladder::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

// Upper bound on waiting for an event that must happen; reaching it fails the test.
constexpr auto kEventWait = std::chrono::seconds(10);

class CountingServer {
 public:
  enum class Mode {
    kKeepAlive,      // answers and keeps the connection open
    kCloseSilently,  // answers without "Connection: close", then closes the connection
    kGarbage,        // answers with bytes that are not HTTP
  };

  explicit CountingServer(Mode mode = Mode::kKeepAlive)
      : mode_(mode), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~CountingServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    acceptor_.close(ignored);
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      hold_ = 0;
      for (auto& socket : sockets_) ::shutdown(socket->native_handle(), SHUT_RDWR);
      cv_.notify_all();
    }
    for (auto& t : threads_) t.join();
  }

  std::string url(const std::string& path = "/x") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  // Responses wait until this many requests are being handled at once.
  void hold_until(int concurrent) {
    std::lock_guard lock(mu_);
    hold_ = concurrent;
  }

  int accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  int handled() {
    std::lock_guard lock(mu_);
    return handled_;
  }
  // Waits until the server saw `count` connections closed by the client; false when
  // that did not happen within kEventWait.
  bool wait_closed(int count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kEventWait, [&] { return closed_ >= count; });
  }
  int closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec) return;
      std::lock_guard lock(mu_);
      ++accepted_;
      sockets_.push_back(socket);
      threads_.emplace_back([this, socket] { serve(*socket); });
    }
  }

  void serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> request;
      boost::system::error_code ec;
      bhttp::read(socket, buffer, request, ec);
      if (ec) {
        std::lock_guard lock(mu_);
        if (ec == bhttp::error::end_of_stream || ec == asio::error::eof) ++closed_;
        cv_.notify_all();
        return;
      }
      {
        std::unique_lock lock(mu_);
        ++in_flight_;
        ++handled_;
        cv_.notify_all();
        if (in_flight_ >= hold_) hold_ = 0;  // the burst is complete: release every waiter
        cv_.wait_for(lock, kEventWait, [&] { return in_flight_ >= hold_; });
      }
      if (mode_ == Mode::kGarbage) {
        asio::write(socket, asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")), ec);
      } else {
        bhttp::response<bhttp::string_body> response{bhttp::status::ok, 11};
        response.set(bhttp::field::content_type, "application/json");
        response.body() = R"({"ok":true})";
        response.keep_alive(true);
        response.prepare_payload();
        bhttp::write(socket, response, ec);
      }
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      if (mode_ != Mode::kKeepAlive) {
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
        return;
      }
    }
  }

  Mode mode_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
  int accepted_ = 0;
  int closed_ = 0;
  int handled_ = 0;
  int in_flight_ = 0;
  int hold_ = 0;
};

Request get(const std::string& url) {
  Request request;
  request.url = url;
  request.connect_timeout = milliseconds(2000);
  request.total_timeout = milliseconds(10000);
  return request;
}

TEST(HttpPool, SequentialRequestsReuseOneConnection) {
  CountingServer server;
  Client client;
  for (int i = 0; i < 10; ++i) {
    auto response = client.send(get(server.url()));
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, R"({"ok":true})");
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.handled(), 10);
  const ClientStats stats = client.stats();
  EXPECT_EQ(stats.opened, 1u);
  EXPECT_EQ(stats.reused, 9u);
  EXPECT_EQ(stats.idle, 1u);
}

TEST(HttpPool, StreamedRequestsReuseTheConnectionToo) {
  CountingServer server;
  Client client;
  for (int i = 0; i < 3; ++i) {
    std::string got;
    auto response = client.send_stream(get(server.url()), [&](std::string_view piece) {
      got.append(piece);
      return true;
    });
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(got, R"({"ok":true})");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpPool, IdleBoundHoldsAfterABurst) {
  CountingServer server;
  constexpr int kBurst = 5;
  server.hold_until(kBurst);  // every request needs its own connection
  ClientOptions options;
  options.max_idle_per_host = 2;
  Client client(options);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kBurst; ++i) {
    threads.emplace_back([&] {
      auto response = client.send(get(server.url()));
      if (response.ok()) {
        ++ok;
      } else {
        ADD_FAILURE() << response.status().to_string();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kBurst);
  EXPECT_EQ(server.accepted(), kBurst);
  // The pool keeps two; the other three are closed by the client.
  EXPECT_TRUE(server.wait_closed(kBurst - 2)) << "closed " << server.closed();
  EXPECT_EQ(client.stats().idle, 2u);
  EXPECT_EQ(client.stats().opened, static_cast<std::uint64_t>(kBurst));
  server.hold_until(0);
  ASSERT_TRUE(client.send(get(server.url())).ok());
  EXPECT_EQ(server.accepted(), kBurst);  // served from the pool
}

TEST(HttpPool, IdleConnectionsExpire) {
  CountingServer server;
  ClientOptions options;
  options.idle_expiry = milliseconds(50);
  Client client(options);
  ASSERT_TRUE(client.send(get(server.url())).ok());
  EXPECT_TRUE(server.wait_closed(1)) << "the idle connection was not closed";
  EXPECT_EQ(client.stats().idle, 0u);
  ASSERT_TRUE(client.send(get(server.url())).ok());
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(client.stats().opened, 2u);
}

TEST(HttpPool, ServerClosingAKeptAliveConnectionIsRetriedOnceOnAFreshOne) {
  CountingServer server(CountingServer::Mode::kCloseSilently);
  Client client;
  for (int i = 0; i < 3; ++i) {
    auto response = client.send(get(server.url()));
    ASSERT_TRUE(response.ok()) << i << ": " << response.status().to_string();
    EXPECT_EQ(response->status, 200);
  }
  // Each request reached the server exactly once.
  EXPECT_EQ(server.handled(), 3);
  EXPECT_EQ(server.accepted(), 3);
  EXPECT_EQ(client.stats().stale_retries, 2u);
}

TEST(HttpPool, GarbageAnswerIsBadResponse) {
  CountingServer server(CountingServer::Mode::kGarbage);
  Client client;
  auto response = client.send(get(server.url()));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kBadResponse) << response.status().to_string();
  EXPECT_EQ(client.stats().idle, 0u);
}

TEST(HttpPool, DifferentHostsGetDifferentPools) {
  CountingServer a;
  CountingServer b;
  Client client;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send(get(a.url())).ok());
    ASSERT_TRUE(client.send(get(b.url())).ok());
  }
  EXPECT_EQ(a.accepted(), 1);
  EXPECT_EQ(b.accepted(), 1);
  EXPECT_EQ(client.stats().idle, 2u);
}

TEST(HttpPool, StoppingAStreamEarlyDoesNotPoolTheConnection) {
  CountingServer server;
  Client client;
  auto response = client.send_stream(get(server.url()), [](std::string_view) { return false; });
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_TRUE(server.wait_closed(1));
  EXPECT_EQ(client.stats().idle, 0u);
}

TEST(HttpPool, AsyncSendsCompleteOnTheLoopAndShareThePool) {
  CountingServer server;
  Client client;
  constexpr int kCalls = 4;
  std::vector<std::promise<Result<Response>>> promises(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    client.send_async(get(server.url()), [&promises, i](Result<Response> r) { promises[i].set_value(std::move(r)); });
  }
  for (auto& p : promises) {
    auto future = p.get_future();
    ASSERT_EQ(future.wait_for(kEventWait), std::future_status::ready);
    auto response = future.get();
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(response->status, 200);
  }
  // A callback may start the next exchange; it goes out on a pooled connection.
  const int accepted = server.accepted();
  std::promise<Result<Response>> chained;
  client.send_async(get(server.url()), [&](Result<Response> first) {
    if (!first.ok()) return chained.set_value(first.status());
    client.send_async(get(server.url()), [&](Result<Response> second) { chained.set_value(std::move(second)); });
  });
  auto future = chained.get_future();
  ASSERT_EQ(future.wait_for(kEventWait), std::future_status::ready);
  EXPECT_TRUE(future.get().ok());
  EXPECT_EQ(server.accepted(), accepted);
}

TEST(HttpPool, AsyncFailuresComeThroughTheCallback) {
  Client client;
  std::promise<Result<Response>> bad_url;
  client.send_async(get("not a url"), [&](Result<Response> r) { bad_url.set_value(std::move(r)); });
  auto bad = bad_url.get_future();
  ASSERT_EQ(bad.wait_for(kEventWait), std::future_status::ready);
  EXPECT_EQ(bad.get().status().code(), ErrorCode::kConfigInvalid);

  int port = 0;
  {
    CountingServer gone;  // a port that was just listened on, now closed
    port = std::stoi(gone.url().substr(std::string("http://127.0.0.1:").size()));
  }
  std::promise<Result<Response>> refused;
  client.send_async(get("http://127.0.0.1:" + std::to_string(port) + "/x"),
                    [&](Result<Response> r) { refused.set_value(std::move(r)); });
  auto down = refused.get_future();
  ASSERT_EQ(down.wait_for(kEventWait), std::future_status::ready);
  EXPECT_EQ(down.get().status().code(), ErrorCode::kUnavailable);
}

// The caller's loop (ladder serve's I/O threads): the client starts no thread of its
// own, completions run on the loop's thread, blocking calls work from other threads and
// are refused on the loop itself.
TEST(HttpPool, OnTheCallersLoopCompletionsRunOnItsThread) {
  CountingServer server;
  asio::io_context loop;
  auto work = asio::make_work_guard(loop);
  std::thread runner([&loop] { loop.run(); });
  {
    Client client(loop);
    std::promise<std::pair<Result<Response>, std::thread::id>> done;
    std::promise<Result<Response>> nested;
    client.send_async(get(server.url()), [&](Result<Response> r) {
      nested.set_value(client.send(get(server.url())));  // blocking, on the loop: refused
      done.set_value({std::move(r), std::this_thread::get_id()});
    });
    auto future = done.get_future();
    ASSERT_EQ(future.wait_for(kEventWait), std::future_status::ready);
    auto [response, thread] = future.get();
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(thread, runner.get_id());
    EXPECT_EQ(nested.get_future().get().status().code(), ErrorCode::kInternal);
    // From another thread a blocking call rides the same loop and pool.
    auto blocking = client.send(get(server.url()));
    ASSERT_TRUE(blocking.ok()) << blocking.status().to_string();
    EXPECT_EQ(server.accepted(), 1);
    EXPECT_EQ(client.stats().idle, 1u);
  }
  EXPECT_TRUE(server.wait_closed(1));  // the client's end closed its pooled connection
  work.reset();
  runner.join();
}

// send_stream_async(): the chain waits for each piece's resume; resume(true) reads on,
// resume(false) ends the exchange as a success and keeps no connection.
TEST(HttpPool, AsyncStreamWaitsForEachResume) {
  CountingServer server;
  Client client;
  std::promise<Client::ResumeFn> piece;
  std::string received;
  std::promise<Result<Response>> done;
  client.send_stream_async(
      get(server.url()),
      [&](std::string_view chunk, Client::ResumeFn resume) {
        received.append(chunk);
        piece.set_value(std::move(resume));
      },
      [&](Result<Response> r) { done.set_value(std::move(r)); });
  auto resume_future = piece.get_future();
  ASSERT_EQ(resume_future.wait_for(kEventWait), std::future_status::ready);
  auto done_future = done.get_future();
  // Not resumed yet: the exchange cannot have ended.
  EXPECT_EQ(done_future.wait_for(milliseconds(0)), std::future_status::timeout);
  resume_future.get()(true);  // from this thread, not the loop's
  ASSERT_EQ(done_future.wait_for(kEventWait), std::future_status::ready);
  auto response = done_future.get();
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(received, R"({"ok":true})");
  EXPECT_EQ(client.stats().idle, 1u);

  std::promise<Result<Response>> stopped;
  client.send_stream_async(
      get(server.url()), [](std::string_view, const Client::ResumeFn& resume) { resume(false); },
      [&](Result<Response> r) { stopped.set_value(std::move(r)); });
  auto stopped_future = stopped.get_future();
  ASSERT_EQ(stopped_future.wait_for(kEventWait), std::future_status::ready);
  EXPECT_TRUE(stopped_future.get().ok());
  EXPECT_TRUE(server.wait_closed(1));
  EXPECT_EQ(client.stats().idle, 0u);
}

TEST(HttpPool, AfterRunsOnTheLoopOnceItsDelayPassed) {
  Client client;
  std::promise<std::chrono::steady_clock::time_point> fired;
  const auto start = std::chrono::steady_clock::now();
  client.after(milliseconds(20), [&] { fired.set_value(std::chrono::steady_clock::now()); });
  auto future = fired.get_future();
  ASSERT_EQ(future.wait_for(kEventWait), std::future_status::ready);
  EXPECT_GE(future.get() - start, milliseconds(20));
}

}  // namespace
}  // namespace ladder::http
