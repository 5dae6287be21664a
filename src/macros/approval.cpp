#include "macros/approval.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <stdexcept>
#include <utility>

namespace ladder::macros {

Approvals::Approvals(long long ttl_s, std::string key) : key_(std::move(key)), ttl_s_(ttl_s) {
  if (!key_.empty()) return;
  key_.assign(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("no randomness for the approval key");
}

std::string Approvals::mac(long long expiry, const std::string& macro, const nlohmann::json& args) const {
  // nlohmann::json objects keep keys sorted: dump() is canonical for equal values.
  const std::string message = std::to_string(expiry) + "\n" + macro + "\n" + args.dump();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), out, &len);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", out[i]);
    hex += buf;
  }
  return hex;
}

std::string Approvals::issue(const std::string& macro, const nlohmann::json& args, long long now_s) const {
  const long long expiry = now_s + ttl_s_;
  return std::to_string(expiry) + "." + mac(expiry, macro, args);
}

bool Approvals::check(const std::string& token, const std::string& macro, const nlohmann::json& args,
                      long long now_s) const {
  const auto dot = token.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 19) return false;
  long long expiry = 0;
  for (std::size_t i = 0; i < dot; ++i) {
    if (token[i] < '0' || token[i] > '9') return false;
    expiry = expiry * 10 + (token[i] - '0');
  }
  if (expiry < now_s) return false;
  const std::string want = mac(expiry, macro, args);
  const std::string got = token.substr(dot + 1);
  return got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
}

}  // namespace ladder::macros
