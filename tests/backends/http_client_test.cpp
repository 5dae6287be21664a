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

}  // namespace
}  // namespace ladder::http
