// A fixed-latency OpenAI-compatible upstream for bench/serve/run.sh: every POST answers
// {"summary":"ok"} as a chat completion (or a legacy completion on /v1/completions) after --delay-us; GET /v1/models
// answers a list. Boost.Beast with C++20 coroutines, keep-alive, one I/O thread (it must not be the bottleneck: wrk
// against it alone reaches well above 10k requests/s). Build: g++ -O2 -std=c++20 upstream.cpp -o upstream -lpthread
#include <utility>  // before asio with Boost 1.74 on g++ 12

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

const std::string kChat =
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":0,"model":"bench-upstream",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"{\"summary\":\"ok\"}"},)"
    R"("logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}})";
const std::string kCompletion =
    R"({"id":"cmpl-bench","object":"text_completion","created":0,"model":"bench-upstream",)"
    R"("choices":[{"index":0,"text":"{\"summary\":\"ok\"}","logprobs":null,"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}})";
const std::string kModels = R"({"object":"list","data":[{"id":"bench-upstream","object":"model"}]})";

asio::awaitable<void> session(tcp::socket socket, std::chrono::microseconds delay) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    http::request<http::string_body> req;
    beast::error_code ec;
    co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    if (delay.count() > 0) {
      timer.expires_after(delay);
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    const bool legacy = req.target().find("/completions") != beast::string_view::npos &&
                        req.target().find("/chat/") == beast::string_view::npos;
    res.body() = req.method() == http::verb::get ? kModels : legacy ? kCompletion : kChat;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, std::chrono::microseconds delay) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket), delay), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  long delay_us = 0;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--delay-us") delay_us = std::atol(argv[i + 1]);
  asio::io_context ioc(1);
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::printf("PORT %d\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  asio::co_spawn(ioc, listen(acceptor, std::chrono::microseconds(delay_us)), asio::detached);
  ioc.run();
}
