// The C++ API for steps that need real code. A handler takes the step's evaluated input
// (JSON) and returns a JSON result or an error; it must be deterministic for a given
// input and context, and must not do I/O (HTTP goes through http steps, where timeouts,
// retries, secrets and fixtures apply).
//
//   ladder::macros::NativeRegistry natives = ladder::macros::NativeRegistry::with_builtins();
//   natives.add("word_count", [](const nlohmann::json& in, const NativeContext&) -> Result<nlohmann::json> {
//     ...
//   });
// A macro file names it as `native: {handler: word_count, input: {...}}`; the registry of
// macros refuses to load a file that names a handler nobody registered.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder::macros {

struct NativeContext {
  std::string macro;  // id of the running macro
  std::string step;   // id of the step
  std::string now;    // the run's clock (RFC 3339)
};

using NativeHandler = std::function<Result<nlohmann::json>(const nlohmann::json& input, const NativeContext& ctx)>;

class NativeRegistry {
 public:
  // Replaces a handler of the same name.
  void add(const std::string& name, NativeHandler handler) { handlers_[name] = std::move(handler); }
  const NativeHandler* find(const std::string& name) const {
    auto it = handlers_.find(name);
    return it == handlers_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : handlers_) out.push_back(k);
    return out;
  }
  // The handlers the GitHub-maintainer pack uses (see native.cpp):
  //   conventional_commit  {title} -> {conventional, type, scope, breaking, subject}
  //   dependabot_bump      {title, branch} -> {package, from, to, ecosystem} | null
  //   release_notes        {from, to, commits:[{sha, message, author}]} -> {sections, markdown}
  //   pick_reviewers       {author, count, candidates, history, exclude} -> [logins]
  static NativeRegistry with_builtins();

 private:
  std::map<std::string, NativeHandler> handlers_;
};

}  // namespace ladder::macros
