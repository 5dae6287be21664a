// URL parsing and joining for the HTTP client, and the response header lookup.
#include <algorithm>
#include <cctype>

#include "backends/http/http_client.h"

namespace ladder::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
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

}  // namespace ladder::http
