#include "config/explain.h"

#include <sstream>

namespace ladder {
namespace {

std::string_view kind_name(TaskKind kind) {
  switch (kind) {
    case TaskKind::kClassify:
      return "classify";
    case TaskKind::kExtract:
      return "extract";
    case TaskKind::kGenerate:
      return "generate";
    case TaskKind::kRouteMacro:
      return "route_macro";
  }
  return "generate";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "-" : out;
}

std::string describe_model(const ModelConfig& m) {
  if (m.backend == "embedded") {
    return m.name + " (embedded " + m.model_path + ", ctx " + std::to_string(m.context_size) + ")";
  }
  return m.name + " (" + m.backend + " " + m.model + " at " + m.base_url + ")";
}

}  // namespace

std::string explain_policy(const Config& config) {
  std::ostringstream out;
  out << "policy " << config.source_path << "\n";
  out << "tiers (" << config.tiers.size() << "):\n";
  for (std::size_t i = 0; i < config.tiers.size(); ++i) {
    const auto& tier = config.tiers[i];
    std::string role = i == 0 || tier.local ? "local" : i + 1 == config.tiers.size() ? "frontier" : "middle";
    out << "  " << i << " " << tier.name << " [" << role << "]:";
    for (const auto& name : tier.models) {
      auto it = config.models.find(name);
      out << " " << (it == config.models.end() ? name : describe_model(it->second));
    }
    out << "\n";
  }
  out << "tasks (" << config.tasks.size() << "):\n";
  for (const auto& [name, task] : config.tasks) {
    out << "  " << name << " [" << kind_name(task.kind) << ", "
        << (task.local_allowed ? "local first" : "frontier only") << "]";
    if (!task.description.empty()) out << " " << task.description;
    out << "\n";
    if (task.kind == TaskKind::kClassify) {
      out << "    labels: " << join(task.labels) << "\n";
      out << "    escalate labels: " << join(task.escalate_labels) << "\n";
      if (!task.evidence.empty()) {
        out << "    evidence (a local label needs its own and no other's):";
        const char* sep = " ";
        for (const auto& [label, rules] : task.evidence) {
          out << sep << label << " " << rules.size() << " rules";
          sep = ", ";
        }
        out << "\n";
      }
    }
    out << "    min_confidence " << task.min_confidence << ", max_input_chars " << task.max_input_chars
        << ", max_tokens " << task.max_tokens << ", examples " << task.examples.size() << ", answer scan "
        << (task.scan_answer ? "on" : "off") << "\n";
  }
  const auto& hs = config.hard_stops;
  out << "hard stops: security " << hs.security.size() << " rules, access " << hs.access.size() << " rules, production "
      << hs.production.size() << " rules (priority security > access > "
      << "production)\n";
  const auto& caps = config.capabilities;
  out << "capabilities: privacy forces local " << (caps.privacy_forces_local ? "yes" : "no") << ", max context tokens "
      << caps.max_context_tokens << ", max tool chain " << caps.max_tool_chain << "\n";
  out << "kill switch: " << (config.kill_switch ? "ON (every task goes to the frontier)" : "off") << "\n";
  out << "shadow: " << (config.shadow ? "on" : "off") << "\n";
  if (config.rotation) {
    out << "rotation: candidate " << config.rotation->candidate << " in shadow on ";
    if (config.rotation->tasks.empty()) out << "every local task";
    for (std::size_t i = 0; i < config.rotation->tasks.size(); ++i) out << (i ? ", " : "") << config.rotation->tasks[i];
    out << ", sample " << config.rotation->sample << "\n";
  }
  out << "macros (" << config.macros.size() << "):\n";
  for (const auto& macro : config.macros) {
    out << "  " << macro.id << ": " << macro.intent;
    if (!macro.irreversible_when.empty()) {
      out << " (irreversible when " << macro.irreversible_when.dump() << ")";
    }
    out << "\n";
  }
  out << "audit: " << (config.audit.jsonl_path.empty() ? "no JSONL file" : config.audit.jsonl_path) << ", raw prompts "
      << (config.audit.store_raw_prompt ? "stored" : "not stored") << ", preview " << config.audit.preview_chars
      << " chars";
  if (!config.audit.replay_key_env.empty())
    out << ", raw inputs sealed for replay (key in $" << config.audit.replay_key_env << ")";
  out << "\n";
  return out.str();
}

}  // namespace ladder
