// Approval tokens for irreversible macro runs through the API. A run that stops with
// approval_required hands back a token bound to the macro id and its exact arguments,
// valid for a while; submitting the same macro and arguments with that token approves it.
// Token: "<expiry epoch seconds>.<hex HMAC-SHA256(key, expiry \n macro \n canonical args)>".
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ladder::macros {

class Approvals {
 public:
  // `key` signs the tokens; empty: a random one, fixed for this object's life (tokens then
  // do not survive a restart). Replicas on one PostgreSQL pass the key they share
  // (store::SharedState::approval_key), so a token from one is honoured by all.
  explicit Approvals(long long ttl_s = 900, std::string key = {});
  std::string issue(const std::string& macro, const nlohmann::json& args, long long now_s) const;
  // True when `token` was issued for exactly this macro and these arguments and has not
  // expired. Constant-time comparison.
  bool check(const std::string& token, const std::string& macro, const nlohmann::json& args, long long now_s) const;

 private:
  std::string mac(long long expiry, const std::string& macro, const nlohmann::json& args) const;
  std::string key_;
  long long ttl_s_;
};

}  // namespace ladder::macros
