#include "models/sha256.h"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace ladder::models {

Result<std::string> sha256_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return make_error(ErrorCode::kNotFound, "file not found: " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kUnavailable, "cannot open " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return make_error(ErrorCode::kInternal, "OpenSSL could not start a SHA-256 digest");
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = in.gcount();
    if (n > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n)) != 1)
      return make_error(ErrorCode::kInternal, "OpenSSL SHA-256 update failed");
  }
  if (in.bad()) return make_error(ErrorCode::kUnavailable, "read error in " + path);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md.data(), &len) != 1)
    return make_error(ErrorCode::kInternal, "OpenSSL SHA-256 final failed");
  std::string hex;
  hex.reserve(len * 2);
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kDigits[md[i] >> 4]);
    hex.push_back(kDigits[md[i] & 0xf]);
  }
  return hex;
}

}  // namespace ladder::models
