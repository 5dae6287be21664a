// Client API keys and the admin token. Keys are compared in constant time (SHA-256 of
// both sides, CRYPTO_memcmp, every key checked) and never logged or echoed.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ladder/status.h"

namespace ladder::server {

// What one client may spend (the keys file's `limits:`); unset: no limit.
struct ClientLimits {
  std::optional<int> requests_per_minute;
  std::optional<long long> tokens_per_minute;  // prompt + completion tokens of model calls
  std::optional<double> usd_per_day;           // priced by the policy's costs:, per UTC day
  bool any() const { return requests_per_minute || tokens_per_minute || usd_per_day; }
};

struct ClientIdentity {
  std::string name;  // the key's name from the keys file; "anonymous" when auth is off
  ClientLimits limits;
};

class KeyRing {
 public:
  using Digest = std::array<unsigned char, 32>;

  // name → key. An empty ring accepts every request (auth off).
  void add(std::string name, std::string_view key, ClientLimits limits = {});
  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  // The name of the key that matches, compared against every key in constant time.
  std::optional<std::string> identify(std::string_view presented) const;
  // The client of that name with its limits (nullopt when there is none).
  std::optional<ClientIdentity> client(const std::string& name) const;

  // A YAML or JSON mapping name → key, where a key is a string, {env: VARIABLE} or
  // {key: KEY | env: VARIABLE, limits: {requests_per_minute, tokens_per_minute,
  // usd_per_day}} (each a positive number, each optional). Errors name the file and the
  // entry (never the key): kNotFound, kParseError, kConfigInvalid (empty key, unset
  // variable, wrong shape, a limit that is not a positive number).
  static Result<KeyRing> load_file(const std::string& path);

 private:
  struct Entry {
    std::string name;
    Digest digest;
    ClientLimits limits;
  };
  std::vector<Entry> entries_;
};

// The credential a request presents: "Authorization: Bearer <key>" or "x-api-key: <key>".
std::string_view presented_key(std::string_view authorization, std::string_view x_api_key);

// Constant-time equality of two secrets (through their digests).
bool secrets_equal(std::string_view a, std::string_view b);

}  // namespace ladder::server
