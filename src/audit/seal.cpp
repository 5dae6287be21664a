#include "audit/seal.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace ladder::audit {
namespace {

constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool from_hex(std::string_view hex, std::string& out) {
  if (hex.size() % 2) return false;
  out.clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

using Ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* bytes(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

Result<SealKey> seal_key_from_hex(std::string_view hex) {
  std::string raw;
  if (hex.size() != 64 || !from_hex(hex, raw))
    return make_error(ErrorCode::kInvalidArgument, "replay key: expected 64 hex digits (32 bytes)");
  SealKey key;
  std::copy(raw.begin(), raw.end(), key.bytes.begin());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.bytes.data(), key.bytes.size(), digest, &len, EVP_sha256(), nullptr);
  key.id = to_hex(digest, 8);
  return key;
}

Result<SealKey> seal_key_from_env(const std::string& env_name) {
  const char* value = std::getenv(env_name.c_str());
  if (!value || !*value) return make_error(ErrorCode::kNotConfigured, "replay key: " + env_name + " is not set");
  auto key = seal_key_from_hex(value);
  if (!key.ok()) return make_error(key.status().code(), key.status().message() + " in " + env_name);
  return key;
}

nlohmann::json seal(const SealKey& key, std::string_view plaintext) {
  unsigned char nonce[kNonceBytes];
  RAND_bytes(nonce, sizeof nonce);
  std::string cipher(plaintext.size(), '\0');
  unsigned char tag[kTagBytes];
  Ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0, total = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(), nonce);
  EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(cipher.data()), &len,
                    reinterpret_cast<const unsigned char*>(plaintext.data()), static_cast<int>(plaintext.size()));
  total = len;
  EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(cipher.data()) + total, &len);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag);
  return {{"alg", "AES-256-GCM"},
          {"key_id", key.id},
          {"nonce", to_hex(nonce, sizeof nonce)},
          {"ciphertext", to_hex(bytes(cipher), cipher.size())},
          {"tag", to_hex(tag, sizeof tag)}};
}

Result<std::string> unseal(const SealKey& key, const nlohmann::json& sealed) {
  auto field = [&](const char* name) -> const nlohmann::json* {
    const auto it = sealed.find(name);
    return (it != sealed.end() && it->is_string()) ? &*it : nullptr;
  };
  if (!sealed.is_object() || !field("alg") || !field("key_id") || !field("nonce") || !field("ciphertext") ||
      !field("tag") || *field("alg") != "AES-256-GCM")
    return make_error(ErrorCode::kInvalidArgument, "sealed input: not an AES-256-GCM object");
  const std::string sealed_id = *field("key_id");
  if (sealed_id != key.id)
    return make_error(ErrorCode::kPermissionDenied,
                      "sealed input: sealed with key " + sealed_id + ", the key given is " + key.id);
  std::string nonce, cipher, tag;
  if (!from_hex(field("nonce")->get<std::string>(), nonce) || nonce.size() != kNonceBytes ||
      !from_hex(field("ciphertext")->get<std::string>(), cipher) || !from_hex(field("tag")->get<std::string>(), tag) ||
      tag.size() != kTagBytes)
    return make_error(ErrorCode::kInvalidArgument, "sealed input: bad nonce, ciphertext or tag");
  std::string plain(cipher.size(), '\0');
  Ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0, total = 0;
  EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(), bytes(nonce));
  EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, bytes(cipher),
                    static_cast<int>(cipher.size()));
  total = len;
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data());
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + total, &len) != 1)
    return make_error(ErrorCode::kPermissionDenied, "sealed input: authentication failed (tampered or corrupt)");
  return plain;
}

}  // namespace ladder::audit
