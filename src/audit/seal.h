// Sealed raw inputs for controlled replay (docs/store.md): AES-256-GCM through OpenSSL EVP,
// a random 96-bit nonce per record, the key from an environment variable.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder::audit {

struct SealKey {
  std::array<unsigned char, 32> bytes{};
  std::string id;  // hex of the first 8 bytes of sha256(key): names the key without revealing it
};

// The variable holds 64 hex digits (32 bytes). kNotConfigured when unset or empty,
// kInvalidArgument when it is not 64 hex digits.
Result<SealKey> seal_key_from_env(const std::string& env_name);
Result<SealKey> seal_key_from_hex(std::string_view hex);

// {"alg": "AES-256-GCM", "key_id", "nonce", "ciphertext", "tag"} (binary fields in hex).
nlohmann::json seal(const SealKey& key, std::string_view plaintext);
// The plaintext. kPermissionDenied naming both key ids when the record was sealed with
// another key; kInvalidArgument when the sealed object is malformed; kPermissionDenied when
// the tag does not verify (ciphertext, nonce or tag changed).
Result<std::string> unseal(const SealKey& key, const nlohmann::json& sealed);

}  // namespace ladder::audit
