#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <yaml-cpp/yaml.h>

#include "config/yaml_reader.h"

namespace ladder::server {
namespace {

KeyRing::Digest digest_of(std::string_view text) {
  KeyRing::Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

// `limits:` of one client: every field a positive number, no other field.
Result<ClientLimits> read_limits(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) return make_error(ErrorCode::kConfigInvalid, where + ": expected a mapping");
  ClientLimits limits;
  for (const auto& item : node) {
    const std::string field = item.first.IsScalar() ? item.first.Scalar() : "";
    const std::string at = where + "." + field;
    double value = 0;
    if (!item.second.IsScalar() || !YAML::convert<double>::decode(item.second, value) || !(value > 0) ||
        !std::isfinite(value))
      return make_error(ErrorCode::kConfigInvalid, at + ": expected a positive number");
    if (field == "requests_per_minute" || field == "tokens_per_minute") {
      if (value != std::floor(value) || value > 1e12)
        return make_error(ErrorCode::kConfigInvalid, at + ": expected a positive whole number");
      if (field == "requests_per_minute") {
        if (value > 1e9) return make_error(ErrorCode::kConfigInvalid, at + ": at most 1000000000");
        limits.requests_per_minute = static_cast<int>(value);
      } else {
        limits.tokens_per_minute = static_cast<long long>(value);
      }
    } else if (field == "usd_per_day") {
      limits.usd_per_day = value;
    } else {
      return make_error(ErrorCode::kConfigInvalid,
                        at + ": unknown limit (expected requests_per_minute, tokens_per_minute or usd_per_day)");
    }
  }
  return limits;
}

}  // namespace

void KeyRing::add(std::string name, std::string_view key, ClientLimits limits) {
  entries_.push_back({std::move(name), digest_of(key), limits});
}

std::optional<ClientIdentity> KeyRing::client(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return ClientIdentity{e.name, e.limits};
  return std::nullopt;
}

std::optional<std::string> KeyRing::identify(std::string_view presented) const {
  if (presented.empty()) return std::nullopt;
  const Digest d = digest_of(presented);
  const Entry* match = nullptr;
  for (const auto& e : entries_) {  // no early exit: the time does not depend on which key matched
    const bool same = CRYPTO_memcmp(d.data(), e.digest.data(), d.size()) == 0;
    if (same && !match) match = &e;
  }
  if (!match) return std::nullopt;
  return match->name;
}

bool secrets_equal(std::string_view a, std::string_view b) {
  const auto da = digest_of(a);
  const auto db = digest_of(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

std::string_view presented_key(std::string_view authorization, std::string_view x_api_key) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size()) {
    bool bearer = true;
    for (std::size_t i = 0; i < kBearer.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
          std::tolower(static_cast<unsigned char>(kBearer[i])))
        bearer = false;
    if (bearer) {
      authorization.remove_prefix(kBearer.size());
      while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
      return authorization;
    }
  }
  return x_api_key;
}

Result<KeyRing> KeyRing::load_file(const std::string& path) {
  // The one bounded reader and YAML loader of src/config: regular files only, size,
  // alias and depth ceilings, UTF-8 checked.
  auto text = config_detail::read_config_file(path);
  if (!text.ok()) return make_error(text.status().code(), "API keys file " + text.status().message());
  config_detail::Reader reader(path);
  auto doc = config_detail::load_document(*text, reader, "the API keys file is empty");
  if (!doc) return reader.status();
  const YAML::Node& root = *doc;
  if (!root.IsMap()) return make_error(ErrorCode::kConfigInvalid, path + ": expected a mapping of name to key");
  KeyRing ring;
  std::set<std::string> names;
  std::set<Digest> digests;
  for (const auto& item : root) {
    if (!item.first.IsScalar() || item.first.Scalar().empty())
      return make_error(ErrorCode::kConfigInvalid, path + ": client names must be non-empty strings");
    const std::string name = item.first.Scalar();
    if (!names.insert(name).second)
      return make_error(ErrorCode::kConfigInvalid, path + ": duplicate client name '" + name + "'");
    const YAML::Node& value = item.second;
    std::string key;
    ClientLimits limits;
    if (value.IsScalar()) {
      key = value.Scalar();
    } else if (value.IsMap()) {
      for (const auto& field : value) {
        const std::string f = field.first.IsScalar() ? field.first.Scalar() : "";
        if (f != "key" && f != "env" && f != "limits")
          return make_error(ErrorCode::kConfigInvalid,
                            path + ": " + name + ": unknown field '" + f + "' (expected key or env, and limits)");
      }
      if (value["key"] && value["env"])
        return make_error(ErrorCode::kConfigInvalid, path + ": " + name + ": give key or env, not both");
      if (value["key"] && value["key"].IsScalar()) {
        key = value["key"].Scalar();
      } else if (value["env"] && value["env"].IsScalar()) {
        const std::string var = value["env"].Scalar();
        const char* v = std::getenv(var.c_str());
        if (!v || !*v)
          return make_error(ErrorCode::kConfigInvalid,
                            path + ": " + name + ".env: variable " + var + " is unset or empty");
        key = v;
      } else {
        return make_error(ErrorCode::kConfigInvalid,
                          path + ": " + name + ": expected key: KEY or env: VARIABLE (a string)");
      }
      if (value["limits"]) {
        auto read = read_limits(value["limits"], path + ": " + name + ".limits");
        if (!read.ok()) return read.status();
        limits = *read;
      }
    } else {
      return make_error(ErrorCode::kConfigInvalid,
                        path + ": " + name + ": expected a key string, {env: VARIABLE} or {key, limits}");
    }
    if (key.empty()) return make_error(ErrorCode::kConfigInvalid, path + ": " + name + ": empty key");
    if (!digests.insert(digest_of(key)).second)
      return make_error(ErrorCode::kConfigInvalid, path + ": " + name + ": the same key as an earlier client");
    ring.add(name, key, limits);
  }
  if (ring.empty()) return make_error(ErrorCode::kConfigInvalid, path + ": no keys");
  return ring;
}

}  // namespace ladder::server
