#include "macros/native.h"

#include <algorithm>
#include <set>

#include <re2/re2.h>

namespace ladder::macros {
namespace {

using nlohmann::json;

std::string first_line(const std::string& text) {
  auto nl = text.find('\n');
  std::string line = nl == std::string::npos ? text : text.substr(0, nl);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::string string_field(const json& in, const char* key) {
  if (in.is_string()) return in.get<std::string>();
  if (in.is_object() && in.contains(key) && in[key].is_string()) return in[key].get<std::string>();
  return "";
}

// Conventional Commits 1.0: type(scope)!: subject
json parse_conventional(const std::string& title) {
  static const RE2 kRe(R"(^([A-Za-z]+)(?:\(([^()\r\n]*)\))?(!)?: +(\S.*)$)");
  std::string type;
  std::string scope;
  std::string bang;
  std::string subject;
  if (!RE2::FullMatch(first_line(title), kRe, &type, &scope, &bang, &subject)) {
    return json{{"conventional", false},
                {"type", nullptr},
                {"scope", nullptr},
                {"breaking", false},
                {"subject", first_line(title)}};
  }
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return json{{"conventional", true},
              {"type", type},
              {"scope", scope.empty() ? json(nullptr) : json(scope)},
              {"breaking", !bang.empty() || title.find("BREAKING CHANGE") != std::string::npos},
              {"subject", subject}};
}

Result<json> conventional_commit(const json& in, const NativeContext&) {
  if (!in.is_string() && !(in.is_object() && in.contains("title") && in["title"].is_string()))
    return make_error(ErrorCode::kInvalidArgument, "conventional_commit needs {title: string}");
  return parse_conventional(string_field(in, "title"));
}

// "Bump lodash from 4.17.20 to 4.17.21" (also "in /dir", "Bump the npm group ..." is not
// a single package and gives null); the branch names the ecosystem:
// dependabot/npm_and_yarn/lodash-4.17.21.
Result<json> dependabot_bump(const json& in, const NativeContext&) {
  if (!in.is_object()) return make_error(ErrorCode::kInvalidArgument, "dependabot_bump needs {title, branch}");
  static const RE2 kTitle(R"(^(?:[A-Za-z]+(?:\([^)]*\))?: )?[Bb]ump (\S+) from (\S+) to (\S+)(?: in (\S+))?$)");
  static const RE2 kBranch(R"(^dependabot/([^/]+)/.*$)");
  std::string package;
  std::string from;
  std::string to;
  std::string dir;
  if (!RE2::FullMatch(first_line(string_field(in, "title")), kTitle, &package, &from, &to, &dir)) return json(nullptr);
  std::string eco_raw;
  RE2::FullMatch(string_field(in, "branch"), kBranch, &eco_raw);
  static const std::map<std::string, std::string> kEcosystems = {
      {"npm_and_yarn", "npm"}, {"pip", "pip"},     {"uv", "pip"},      {"cargo", "cargo"},
      {"go_modules", "go"},    {"maven", "maven"}, {"gradle", "maven"}};
  auto it = kEcosystems.find(eco_raw);
  return json{
      {"package", package},
      {"from", from},
      {"to", to},
      {"directory", dir.empty() ? json(nullptr) : json(dir)},
      {"ecosystem", it == kEcosystems.end() ? (eco_raw.empty() ? json(nullptr) : json(eco_raw)) : json(it->second)}};
}

Result<json> release_notes(const json& in, const NativeContext&) {
  if (!in.is_object() || !in.contains("commits") || !in["commits"].is_array())
    return make_error(ErrorCode::kInvalidArgument, "release_notes needs {from, to, commits: [...]}");
  static const std::vector<std::pair<std::string, std::string>> kSections = {
      {"breaking", "Breaking changes"}, {"feat", "Features"},      {"fix", "Bug fixes"},
      {"perf", "Performance"},          {"docs", "Documentation"}, {"other", "Other changes"}};
  json sections = json::object();
  for (const auto& [key, title] : kSections) sections[key] = json::array();
  for (const auto& c : in["commits"]) {
    std::string message = string_field(c, "message");
    json parsed = parse_conventional(message);
    std::string key = "other";
    if (parsed["breaking"].get<bool>()) {
      key = "breaking";
    } else if (parsed["conventional"].get<bool>()) {
      std::string type = parsed["type"].get<std::string>();
      if (sections.contains(type)) key = type;
    }
    if (parsed["conventional"].get<bool>() && parsed["type"] == "chore") key = "other";
    std::string sha = string_field(c, "sha").substr(0, 7);
    json entry{{"sha", sha}, {"subject", parsed["subject"]}, {"author", c.value("author", json(nullptr))}};
    if (!parsed["scope"].is_null()) entry["scope"] = parsed["scope"];
    sections[key].push_back(std::move(entry));
  }
  std::string md = "## " + string_field(in, "to") + "\n\nChanges since " + string_field(in, "from") + ".\n";
  for (const auto& [key, title] : kSections) {
    if (sections[key].empty()) continue;
    md += "\n### " + title + "\n\n";
    for (const auto& e : sections[key]) {
      md += "- ";
      if (e.contains("scope")) md += "**" + e["scope"].get<std::string>() + ":** ";
      md += e["subject"].get<std::string>() + " (" + e["sha"].get<std::string>() + ")";
      if (e["author"].is_string()) md += " @" + e["author"].get<std::string>();
      md += "\n";
    }
  }
  return json{{"sections", sections}, {"markdown", md}};
}

// Candidates ranked by how often they touched the changed files (history: a list of
// login lists, one per file), then by their order in candidates; the author and those in
// exclude are never picked.
Result<json> pick_reviewers(const json& in, const NativeContext&) {
  if (!in.is_object() || !in.contains("candidates") || !in["candidates"].is_array())
    return make_error(ErrorCode::kInvalidArgument,
                      "pick_reviewers needs {author, count, candidates, history, exclude}");
  int count = in.value("count", 2);
  std::string author = in.value("author", "");
  std::set<std::string> excluded = {author};
  for (const auto& e : in.value("exclude", json::array()))
    if (e.is_string()) excluded.insert(e.get<std::string>());
  std::vector<std::string> candidates;
  for (const auto& c : in["candidates"])
    if (c.is_string() && !excluded.count(c.get<std::string>())) candidates.push_back(c.get<std::string>());
  std::map<std::string, int> touches;
  for (const auto& file_authors : in.value("history", json::array())) {
    std::set<std::string> seen;
    for (const auto& login : file_authors)
      if (login.is_string() && seen.insert(login.get<std::string>()).second) ++touches[login.get<std::string>()];
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](const std::string& a, const std::string& b) { return touches[a] > touches[b]; });
  if (static_cast<int>(candidates.size()) > count) candidates.resize(static_cast<std::size_t>(count));
  return json(candidates);
}

}  // namespace

NativeRegistry NativeRegistry::with_builtins() {
  NativeRegistry r;
  r.add("conventional_commit", conventional_commit);
  r.add("dependabot_bump", dependabot_bump);
  r.add("release_notes", release_notes);
  r.add("pick_reviewers", pick_reviewers);
  return r;
}

}  // namespace ladder::macros
