#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
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

}  // namespace

void KeyRing::add(std::string name, std::string_view key) { entries_.push_back({std::move(name), digest_of(key)}); }

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
    if (value.IsScalar()) {
      key = value.Scalar();
    } else if (value.IsMap() && value["env"] && value["env"].IsScalar()) {
      const std::string var = value["env"].Scalar();
      const char* v = std::getenv(var.c_str());
      if (!v || !*v)
        return make_error(ErrorCode::kConfigInvalid,
                          path + ": " + name + ".env: variable " + var + " is unset or empty");
      key = v;
    } else {
      return make_error(ErrorCode::kConfigInvalid, path + ": " + name + ": expected a key string or {env: VARIABLE}");
    }
    if (key.empty()) return make_error(ErrorCode::kConfigInvalid, path + ": " + name + ": empty key");
    if (!digests.insert(digest_of(key)).second)
      return make_error(ErrorCode::kConfigInvalid, path + ": " + name + ": the same key as an earlier client");
    ring.add(name, key);
  }
  if (ring.empty()) return make_error(ErrorCode::kConfigInvalid, path + ": no keys");
  return ring;
}

}  // namespace ladder::server
