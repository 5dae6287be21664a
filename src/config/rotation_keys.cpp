#include "config/rotation_keys.h"

#include <algorithm>
#include <cctype>

namespace ladder::config_detail {
namespace {

bool env_name_ok(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

}  // namespace

void parse_replay(Reader& r, const At& at, AuditConfig& audit) {
  auto f = r.fields(at, {"key_env"});
  if (!f) return;
  if (!r.require(*f, at, "key_env")) return;
  const At& key = f->at("key_env");
  auto name = r.get_string(key);
  if (!name) return;
  if (!env_name_ok(*name)) {
    r.error(key.line, key.path, "expected an environment variable name (letters, digits, _), got " + quote(*name));
    return;
  }
  audit.replay_key_env = *name;
}

void parse_rotation(Reader& r, const At& at, Config& config) {
  auto f = r.fields(at, {"candidate", "tasks", "sample"});
  if (!f) return;
  if (!r.require(*f, at, "candidate")) return;
  RotationConfig rotation;
  bool ok = true;
  const At& candidate = f->at("candidate");
  if (auto name = r.get_string(candidate)) {
    rotation.candidate = *name;
    if (!config.models.count(*name)) {
      r.error(candidate.line, candidate.path, "unknown model " + quote(*name) + " (not under models:)");
      ok = false;
    }
    for (const auto& tier : config.tiers) {
      if (!tier.local && &tier != &config.tiers.front()) continue;
      if (std::find(tier.models.begin(), tier.models.end(), *name) != tier.models.end()) {
        r.error(candidate.line, candidate.path,
                "model " + quote(*name) + " already answers in local tier " + quote(tier.name) +
                    "; the candidate is a model the live tiers do not use");
        ok = false;
      }
    }
  } else {
    ok = false;
  }
  if (f->count("tasks")) {
    const At& tasks = f->at("tasks");
    if (auto list = r.get_string_list(tasks, /*unique=*/true)) {
      if (list->empty()) {
        r.error(tasks.line, tasks.path, "at least one task (leave tasks out to shadow every local task)");
        ok = false;
      }
      for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string& name = (*list)[i];
        const std::string path = tasks.path + "[" + std::to_string(i) + "]";
        const TaskConfig* task = config.find_task(name);
        if (!task) {
          r.error(tasks.line, path, "unknown task " + quote(name) + " (not under tasks:)");
          ok = false;
        } else if (!task->local_allowed) {
          r.error(tasks.line, path, "task " + quote(name) + " never runs locally (local: false): nothing to shadow");
          ok = false;
        }
      }
      rotation.tasks = *list;
    } else {
      ok = false;
    }
  }
  if (f->count("sample")) {
    if (auto v = r.get_number(f->at("sample"), 0.0, 1.0)) {
      rotation.sample = *v;
    } else {
      ok = false;
    }
  }
  if (ok) config.rotation = std::move(rotation);
}

}  // namespace ladder::config_detail
