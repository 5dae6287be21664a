#include "backends/http/http_client.h"

#include <gtest/gtest.h>

#include "backends/http/http_errors.h"
#include "test_support.h"

namespace ladder::http {
namespace {

using std::chrono::milliseconds;
using testing::FakeFrontierTest;

TEST(ParseUrl, FillsDefaultsAndTarget) {
  auto url = parse_url("http://localhost:8080/v1?x=1");
  ASSERT_TRUE(url.ok()) << url.status().to_string();
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->host, "localhost");
  EXPECT_EQ(url->port, "8080");
  EXPECT_EQ(url->target, "/v1?x=1");
  EXPECT_FALSE(url->tls());

  auto tls = parse_url("HTTPS://api.anthropic.com");
  ASSERT_TRUE(tls.ok());
  EXPECT_TRUE(tls->tls());
  EXPECT_EQ(tls->port, "443");
  EXPECT_EQ(tls->target, "/");

  auto v6 = parse_url("http://[::1]:9000/x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "9000");
  EXPECT_EQ(v6->to_string(), "http://[::1]:9000/x");
}

TEST(ParseUrl, RejectsBadUrls) {
  for (const char* bad : {"localhost:8080", "ftp://x", "http://", "http://host:abc", "http://host:70000",
                          "http://user:secret@host/", "http://[::1"}) {
    auto url = parse_url(bad);
    ASSERT_FALSE(url.ok()) << bad;
    EXPECT_EQ(url.status().code(), ErrorCode::kConfigInvalid) << bad;
  }
  // A URL with credentials is rejected without echoing them.
  auto url = parse_url("http://user:secret@host/");
  EXPECT_NE(url.status().message().find("credentials"), std::string::npos);
  EXPECT_EQ(url.status().message().find("secret"), std::string::npos) << url.status().message();
}

TEST(JoinUrl, DoesNotDoubleV1) {
  EXPECT_EQ(join_url("http://h:1", "/v1/chat/completions"), "http://h:1/v1/chat/completions");
  EXPECT_EQ(join_url("http://h:1/", "/v1/chat/completions"), "http://h:1/v1/chat/completions");
  EXPECT_EQ(join_url("http://h:1/v1", "/v1/chat/completions"), "http://h:1/v1/chat/completions");
  EXPECT_EQ(join_url("http://h:1/v1/", "/v1/models"), "http://h:1/v1/models");
  EXPECT_EQ(join_url("http://h:1/proxy/v1", "/v1/messages"), "http://h:1/proxy/v1/messages");
  EXPECT_EQ(join_url("http://h:1/proxy", "/v1/messages"), "http://h:1/proxy/v1/messages");
  // A host named like the segment is not a path.
  EXPECT_EQ(join_url("http://v1", "/v1/models"), "http://v1/v1/models");
  EXPECT_EQ(join_url("http://h:1/api", "/api/chat"), "http://h:1/api/chat");
}

TEST(HttpErrors, MapsStatusCodes) {
  Response r;
  r.body = R"({"error":{"message":"slow down","type":"rate_limit_error"}})";
  r.status = 200;
  EXPECT_TRUE(status_from_response("openai", "http://x/v1", r).ok());
  r.status = 429;
  auto s = status_from_response("openai", "http://x/v1", r);
  EXPECT_EQ(s.code(), ErrorCode::kRateLimited);
  EXPECT_NE(s.message().find("openai"), std::string::npos);
  EXPECT_NE(s.message().find("http://x/v1"), std::string::npos);
  EXPECT_NE(s.message().find("rate_limit_error: slow down"), std::string::npos);
  r.status = 503;
  EXPECT_EQ(status_from_response("b", "u", r).code(), ErrorCode::kUpstreamError);
  r.status = 500;
  EXPECT_EQ(status_from_response("b", "u", r).code(), ErrorCode::kUpstreamError);
  r.status = 401;
  EXPECT_EQ(status_from_response("b", "u", r).code(), ErrorCode::kUpstreamRejected);
  r.status = 404;
  EXPECT_EQ(status_from_response("b", "u", r).code(), ErrorCode::kUpstreamRejected);
  r.status = 302;
  EXPECT_EQ(status_from_response("b", "u", r).code(), ErrorCode::kBadResponse);
}

TEST(HttpErrors, ExtractsUpstreamErrorText) {
  EXPECT_EQ(upstream_error_text(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"),
            "overloaded_error: Overloaded");
  EXPECT_EQ(upstream_error_text(R"({"error":"model 'x' not found"})"), "model 'x' not found");
  EXPECT_EQ(upstream_error_text("<html>\nbad gateway\n</html>"), "<html> bad gateway </html>");
  std::string long_body(1000, 'a');
  EXPECT_LE(upstream_error_text(long_body).size(), 210u);
}

TEST(HttpErrors, RetryAfterSecondsOnly) {
  Response r;
  EXPECT_FALSE(retry_after(r).has_value());
  r.headers = {{"retry-after", " 3 "}};
  ASSERT_TRUE(retry_after(r).has_value());
  EXPECT_EQ(*retry_after(r), milliseconds(3000));
  r.headers = {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}};
  EXPECT_FALSE(retry_after(r).has_value());
}

TEST(HttpErrors, RedactsSecret) {
  EXPECT_EQ(redact("key sk-123 and sk-123", "sk-123"), "key [redacted] and [redacted]");
  EXPECT_EQ(redact("nothing", ""), "nothing");
}

class HttpClientTest : public FakeFrontierTest {
 protected:
  Request get(const std::string& path) {
    Request request;
    request.url = base_url() + path;
    request.connect_timeout = milliseconds(1000);
    request.total_timeout = milliseconds(5000);
    return request;
  }
  Client client_;
};

TEST_F(HttpClientTest, GetReturnsStatusHeadersBody) {
  auto response = client_.send(get("/health"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(response->body)["status"], "ok");
}

TEST_F(HttpClientTest, PostSendsJsonBodyAndHeaders) {
  Request request = get("/v1/chat/completions");
  request.method = "POST";
  request.body = R"({"messages":[{"role":"user","content":"hi"}]})";
  request.headers = {{"X-Test", "yes"}};
  auto response = client_.send(request);
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  auto recorded = requests();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0]["headers"]["x-test"], "yes");
  EXPECT_EQ(recorded[0]["headers"]["content-type"], "application/json");
  EXPECT_EQ(recorded[0]["body"]["messages"][0]["content"], "hi");
}

TEST_F(HttpClientTest, HttpErrorStatusIsNotATransportFailure) {
  auto response = client_.send(get("/no-such-path"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 404);
}

TEST_F(HttpClientTest, ConnectionRefusedIsUnavailable) {
  Request request = get("/health");
  request.url = down_url() + "/health";
  auto response = client_.send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(response.status().message().find("127.0.0.1"), std::string::npos);
}

TEST_F(HttpClientTest, UnknownHostIsUnavailable) {
  Request request = get("/health");
  request.url = "http://ladder-no-such-host.invalid/health";
  auto response = client_.send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().code() == ErrorCode::kUnavailable || response.status().code() == ErrorCode::kTimeout)
      << response.status().to_string();
}

TEST_F(HttpClientTest, SlowAnswerTimesOut) {
  fail({{"mode", "slow"}, {"count", 1}, {"delay_ms", 1500}});
  Request request = get("/v1/models");
  request.total_timeout = milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  auto response = client_.send(request);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kTimeout);
  EXPECT_LT(took, milliseconds(1400));
}

TEST_F(HttpClientTest, CutBodyIsConnectionReset) {
  fail({{"mode", "cut"}, {"count", 1}});
  auto response = client_.send(get("/v1/models"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kConnectionReset) << response.status().to_string();
}

TEST_F(HttpClientTest, BodyOverCapIsBadResponse) {
  Request request = get("/v1/models");
  request.max_body_bytes = 10;
  auto response = client_.send(request);
  ASSERT_FALSE(response.ok()) << "status " << response->status << " body '" << response->body << "'";
  EXPECT_EQ(response.status().code(), ErrorCode::kBadResponse) << response.status().to_string();
}

TEST_F(HttpClientTest, TlsToPlainServerIsUnavailable) {
  Request request = get("/health");
  request.url = "https://127.0.0.1:" + std::to_string(port_) + "/health";
  auto response = client_.send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kUnavailable) << response.status().to_string();
  EXPECT_NE(response.status().message().find("TLS"), std::string::npos);
}

TEST_F(HttpClientTest, InvalidUrlIsConfigInvalid) {
  Request request = get("/health");
  request.url = "localhost/health";
  auto response = client_.send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kConfigInvalid);
}

TEST_F(HttpClientTest, PutPatchDeleteRoundTrip) {
  for (const char* method : {"PUT", "PATCH", "DELETE"}) {
    Request request = get("/_echo?x=1");
    request.method = method;
    request.body = R"({"n":1})";
    request.headers = {{"X-Test", method}};
    auto response = client_.send(request);
    ASSERT_TRUE(response.ok()) << method << ": " << response.status().to_string();
    EXPECT_EQ(response->status, 200) << method;
    auto echoed = nlohmann::json::parse(response->body);
    EXPECT_EQ(echoed["method"], method);
    EXPECT_EQ(echoed["path"], "/_echo?x=1");
    EXPECT_EQ(echoed["body"], R"({"n":1})") << method;
    EXPECT_EQ(echoed["headers"]["x-test"], method);
    EXPECT_EQ(echoed["headers"]["content-type"], "application/json");
  }
  // DELETE without a body sends none.
  Request request = get("/_echo");
  request.method = "DELETE";
  auto response = client_.send(request);
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  auto echoed = nlohmann::json::parse(response->body);
  EXPECT_EQ(echoed["method"], "DELETE");
  EXPECT_EQ(echoed["body"], "");
  EXPECT_FALSE(echoed["headers"].contains("content-type"));
}

TEST_F(HttpClientTest, GetCarriesNoBody) {
  auto response = client_.send(get("/_echo"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  auto echoed = nlohmann::json::parse(response->body);
  EXPECT_EQ(echoed["method"], "GET");
  EXPECT_EQ(echoed["body"], "");
  EXPECT_FALSE(echoed["headers"].contains("content-type"));
  EXPECT_FALSE(echoed["headers"].contains("content-length"));

  Request with_body = get("/_echo");
  with_body.body = "{}";
  auto rejected = client_.send(with_body);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.status().code(), ErrorCode::kInternal);
}

TEST_F(HttpClientTest, UnsupportedMethodIsInternal) {
  Request request = get("/_echo");
  request.method = "TRACE";
  auto response = client_.send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kInternal);
}

class HttpStreamTest : public HttpClientTest {
 protected:
  Request stream_post(const std::string& path = "/v1/chat/completions") {
    Request request = get(path);
    request.method = "POST";
    request.body = R"({"messages":[{"role":"user","content":"hi"}],"stream":true})";
    return request;
  }
  std::vector<std::string> chunks_;
  BodyChunkFn collect() {
    return [this](std::string_view chunk) {
      chunks_.emplace_back(chunk);
      return true;
    };
  }
  std::string joined() const {
    std::string all;
    for (const auto& c : chunks_) all += c;
    return all;
  }
};

TEST_F(HttpStreamTest, DeliversTheBodyPieceByPieceAsItArrives) {
  answer("one two three four five six");
  auto response = client_.send_stream(stream_post(), collect());
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-type"), "text/event-stream");
  EXPECT_TRUE(response->body.empty());
  EXPECT_GE(chunks_.size(), 2u);  // pieces leave the fake about 5 ms apart
  const std::string all = joined();
  EXPECT_NE(all.find(R"("content": "one ")"), std::string::npos) << all;
  EXPECT_NE(all.find("data: [DONE]\n\n"), std::string::npos) << all;
  EXPECT_EQ(all.find("\r\n0\r\n"), std::string::npos) << "chunked coding leaked into the body";
}

TEST_F(HttpStreamTest, CallbackReturningFalseStopsTheStream) {
  answer("one two three four five six seven eight nine ten");
  fail({{"mode", "stream_stall"}, {"after_chunks", 2}, {"delay_ms", 3000}});
  const auto start = std::chrono::steady_clock::now();
  auto response = client_.send_stream(stream_post(), [&](std::string_view chunk) {
    chunks_.emplace_back(chunk);
    return joined().find("two") == std::string::npos;
  });
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2500));
  EXPECT_EQ(joined().find("three"), std::string::npos);
}

TEST_F(HttpStreamTest, IdleTimeoutBetweenPiecesIsTimeout) {
  answer("one two three four");
  fail({{"mode", "stream_stall"}, {"after_chunks", 2}, {"delay_ms", 2000}});
  Request request = stream_post();
  request.idle_timeout = milliseconds(200);
  const auto start = std::chrono::steady_clock::now();
  auto response = client_.send_stream(request, collect());
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kTimeout) << response.status().to_string();
  EXPECT_NE(response.status().message().find("idle"), std::string::npos) << response.status().message();
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_NE(joined().find(R"("content": "two ")"), std::string::npos) << joined();
}

TEST_F(HttpStreamTest, PauseShorterThanIdleTimeoutIsFine) {
  answer("one two three four");
  fail({{"mode", "stream_stall"}, {"after_chunks", 2}, {"delay_ms", 150}});
  Request request = stream_post();
  request.idle_timeout = milliseconds(1000);
  auto response = client_.send_stream(request, collect());
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_NE(joined().find("data: [DONE]"), std::string::npos);
}

TEST_F(HttpStreamTest, TotalTimeoutBoundsAStream) {
  answer("one two three four");
  fail({{"mode", "stream_stall"}, {"after_chunks", 1}, {"delay_ms", 2000}});
  Request request = stream_post();
  request.total_timeout = milliseconds(400);
  auto response = client_.send_stream(request, collect());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kTimeout) << response.status().to_string();
  EXPECT_FALSE(chunks_.empty());
}

TEST_F(HttpStreamTest, CutStreamIsConnectionResetAfterPieces) {
  answer("one two three four");
  fail({{"mode", "stream_cut"}, {"after_chunks", 2}});
  auto response = client_.send_stream(stream_post(), collect());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kConnectionReset) << response.status().to_string();
  EXPECT_NE(joined().find(R"("content": "two ")"), std::string::npos) << joined();
}

TEST_F(HttpStreamTest, ErrorStatusBodyIsCollectedNotStreamed) {
  fail({{"mode", "503"}, {"count", 1}});
  auto response = client_.send_stream(stream_post(), collect());
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 503);
  EXPECT_NE(response->body.find("internal error in fake"), std::string::npos);
  EXPECT_TRUE(chunks_.empty());
}

TEST_F(HttpStreamTest, BodyCapAppliesToStreams) {
  answer("one two three four five six seven");
  Request request = stream_post();
  request.max_body_bytes = 300;
  auto response = client_.send_stream(request, collect());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kBadResponse) << response.status().to_string();
  EXPECT_LE(joined().size(), 300u);
}

TEST_F(HttpStreamTest, ConnectionRefusedIsUnavailable) {
  Request request = stream_post();
  request.url = down_url() + "/v1/chat/completions";
  auto response = client_.send_stream(request, collect());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(chunks_.empty());
}

}  // namespace
}  // namespace ladder::http
