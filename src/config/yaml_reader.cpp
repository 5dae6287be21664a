#include "config/yaml_reader.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>

#include "ladder/utf8.h"

namespace ladder::config_detail {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";
constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
constexpr std::string_view kFloatTag = "tag:yaml.org,2002:float";
constexpr std::string_view kBoolTag = "tag:yaml.org,2002:bool";
constexpr std::string_view kNullTag = "tag:yaml.org,2002:null";

bool is_null_text(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

std::optional<bool> bool_text(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

// RE2, not std::regex: libstdc++'s matcher recurses once per character, so a long
// scalar (300 KB of digits) overflowed the stack (fuzz/regressions/yaml_scalar).
bool int_text(const std::string& s, std::int64_t& out) {
  static const RE2 kDec("[-+]?[0-9]+");
  static const RE2 kHex("0x[0-9a-fA-F]+");
  static const RE2 kOct("0o[0-7]+");
  int base = 0;
  std::string digits = s;
  if (RE2::FullMatch(s, kDec)) {
    base = 10;
  } else if (RE2::FullMatch(s, kHex)) {
    base = 16;
    digits = s.substr(2);
  } else if (RE2::FullMatch(s, kOct)) {
    base = 8;
    digits = s.substr(2);
  } else {
    return false;
  }
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, base);
  if (errno == ERANGE) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

bool float_text(const std::string& s, double& out) {
  static const RE2 kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (RE2::FullMatch(s, kFloat)) {
    out = std::strtod(s.c_str(), nullptr);
    return true;
  }
  static const RE2 kInf("[-+]?\\.(inf|Inf|INF)");
  static const RE2 kNan("\\.(nan|NaN|NAN)");
  if (RE2::FullMatch(s, kInf)) {
    out = s[0] == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (RE2::FullMatch(s, kNan)) {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  return false;
}

std::string join_path(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

std::string format_number(double v) {
  if (v == static_cast<double>(static_cast<long long>(v))) {
    return std::to_string(static_cast<long long>(v));
  }
  return nlohmann::json(v).dump();
}

// Walks `node` counting visits and scalar bytes (an alias counts each time it is
// reached); false with `why` once a budget or the depth is exceeded. A self-referencing
// alias ends on depth.
// Counts the documents of a stream and where the second begins, nothing else.
struct DocumentCounter : YAML::EventHandler {
  int documents = 0;
  int second_line = 1;
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second_line = mark.line >= 0 ? mark.line + 1 : 1;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

struct Budget {
  std::size_t visits = 0;
  std::size_t scalar_bytes = 0;
};
bool within_budget(const YAML::Node& node, int depth, Budget& used, std::string& why) {
  if (++used.visits > kMaxYamlNodes) {
    why = "the document expands to more than " + std::to_string(kMaxYamlNodes) + " YAML nodes (aliases included)";
    return false;
  }
  if (depth > kMaxYamlDepth) {
    why = "the document is nested deeper than " + std::to_string(kMaxYamlDepth) + " levels";
    return false;
  }
  if (node.IsScalar() && (used.scalar_bytes += node.Scalar().size()) > kMaxYamlScalarBytes) {
    why = "the document expands to more than " + std::to_string(kMaxYamlScalarBytes) +
          " bytes of scalar text (aliases included)";
    return false;
  }
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!within_budget(it->first, depth + 1, used, why) || !within_budget(it->second, depth + 1, used, why))
        return false;
    }
  } else if (node.IsSequence()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!within_budget(*it, depth + 1, used, why)) return false;
    }
  }
  return true;
}

}  // namespace

Result<std::string> read_config_file(const std::string& path, std::size_t max_bytes) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return make_error(ErrorCode::kNotFound, path + ": no such file");
  if (fs::is_directory(st)) return make_error(ErrorCode::kNotFound, path + ": is a directory");
  if (!fs::is_regular_file(st)) return make_error(ErrorCode::kInvalidArgument, path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot open the file");
  // Read one byte past the ceiling: the file may grow between the stat and the read.
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes) {
    return make_error(ErrorCode::kPayloadTooLarge, path + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  return text;
}

int line_of(const YAML::Node& node, int fallback) {
  if (!node.IsDefined() || node.IsNull()) return fallback;
  int line = node.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

std::string quote(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Reader::error(int line, std::string_view path, std::string_view what, ErrorCode code) {
  std::string p = path.empty() ? std::string("(root)") : std::string(path);
  issues_.emplace_back(code, source_ + ":" + std::to_string(line) + ": " + p + ": " + std::string(what));
}

Status Reader::status() const {
  if (issues_.empty()) return Status::ok_status();
  std::string message;
  for (const auto& [code, text] : issues_) {
    if (!message.empty()) message += '\n';
    message += text;
  }
  return make_error(issues_.front().first, std::move(message));
}

At Reader::child(const At& parent, const YAML::Node& key, const YAML::Node& value, const std::string& name) {
  int key_line = line_of(key, parent.line);
  return At{value, join_path(parent.path, name), line_of(value, key_line)};
}

At Reader::item(const At& parent, const YAML::Node& value, std::size_t index) {
  return At{value, parent.path + "[" + std::to_string(index) + "]", line_of(value, parent.line)};
}

Scalar Reader::resolve(const YAML::Node& node) {
  Scalar s;
  if (!node.IsDefined() || node.IsNull()) {
    s.kind = ScalarKind::kNull;
    return s;
  }
  s.text = node.Scalar();
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == kStrTag) return s;  // quoted/block scalar or explicit !!str
  if (tag == kNullTag) {
    s.kind = ScalarKind::kNull;
    return s;
  }
  if (tag == "?" || tag.empty() || tag == kIntTag || tag == kFloatTag || tag == kBoolTag) {
    if (tag != kIntTag && tag != kFloatTag && tag != kBoolTag && is_null_text(s.text)) {
      s.kind = ScalarKind::kNull;
      return s;
    }
    if (tag != kIntTag && tag != kFloatTag) {
      if (auto b = bool_text(s.text)) {
        s.kind = ScalarKind::kBool;
        s.boolean = *b;
        return s;
      }
    }
    if (tag != kFloatTag && tag != kBoolTag && int_text(s.text, s.integer)) {
      s.kind = ScalarKind::kInt;
      s.number = static_cast<double>(s.integer);
      return s;
    }
    if (tag != kBoolTag && float_text(s.text, s.number)) {
      s.kind = ScalarKind::kFloat;
      return s;
    }
  }
  return s;  // anything else (other tags, plain words) is a string
}

std::string Reader::describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a sequence";
  Scalar s = resolve(node);
  if (s.kind == ScalarKind::kString) return quote(s.text);
  if (s.kind == ScalarKind::kNull) return "null";
  return s.text;
}

std::optional<std::vector<std::pair<std::string, At>>> Reader::entries(const At& at) {
  if (!at.node.IsMap()) {
    error(at.line, at.path, "expected a mapping, got " + describe(at.node));
    return std::nullopt;
  }
  std::vector<std::pair<std::string, At>> out;
  std::set<std::string> seen;
  bool ok = true;
  for (auto it = at.node.begin(); it != at.node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: it->first lives in a temporary proxy
    int key_line = line_of(key, at.line);
    if (!key.IsScalar() || resolve(key).kind == ScalarKind::kNull) {
      error(key_line, at.path, "expected a string key, got " + describe(key));
      ok = false;
      continue;
    }
    std::string name = key.Scalar();
    if (!seen.insert(name).second) {
      error(key_line, join_path(at.path, name), "duplicate key " + quote(name));
      ok = false;
      continue;
    }
    out.emplace_back(name, child(at, key, it->second, name));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::map<std::string, At>> Reader::fields(const At& at, const std::vector<std::string>& allowed) {
  auto list = entries(at);
  if (!list) return std::nullopt;
  std::map<std::string, At> out;
  bool ok = true;
  for (auto& [name, value] : *list) {
    bool known = false;
    for (const auto& a : allowed) known = known || a == name;
    if (!known) {
      std::string expected;
      for (const auto& a : allowed) expected += (expected.empty() ? "" : ", ") + a;
      error(value.line, value.path, "unknown key " + quote(name) + " (expected one of: " + expected + ")");
      ok = false;
      continue;
    }
    out.emplace(name, std::move(value));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<At>> Reader::items(const At& at) {
  if (!at.node.IsSequence()) {
    error(at.line, at.path, "expected a sequence, got " + describe(at.node));
    return std::nullopt;
  }
  std::vector<At> out;
  for (std::size_t i = 0; i < at.node.size(); ++i) out.push_back(item(at, at.node[i], i));
  return out;
}

bool Reader::require(const std::map<std::string, At>& f, const At& parent, const std::string& key) {
  if (f.count(key)) return true;
  error(parent.line, join_path(parent.path, key), "required key is missing");
  return false;
}

std::optional<std::string> Reader::get_string(const At& at, bool allow_empty) {
  if (!at.node.IsScalar()) {
    error(at.line, at.path, "expected a string, got " + describe(at.node));
    return std::nullopt;
  }
  Scalar s = resolve(at.node);
  if (s.kind != ScalarKind::kString) {
    error(at.line, at.path, "expected a string, got " + describe(at.node));
    return std::nullopt;
  }
  if (!allow_empty && s.text.empty()) {
    error(at.line, at.path, "expected a non-empty string");
    return std::nullopt;
  }
  return s.text;
}

std::optional<std::int64_t> Reader::get_int(const At& at, std::int64_t min, std::int64_t max) {
  std::string range;
  if (max == std::numeric_limits<std::int64_t>::max() || max == std::numeric_limits<int>::max()) {
    range = " >= " + std::to_string(min);
  } else {
    range = " in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  }
  Scalar s = at.node.IsScalar() ? resolve(at.node) : Scalar{};
  if (!at.node.IsScalar() || s.kind != ScalarKind::kInt || s.integer < min || s.integer > max) {
    error(at.line, at.path, "expected an integer" + range + ", got " + describe(at.node));
    return std::nullopt;
  }
  return s.integer;
}

std::optional<double> Reader::get_number(const At& at, double min, double max) {
  Scalar s = at.node.IsScalar() ? resolve(at.node) : Scalar{};
  bool numeric =
      at.node.IsScalar() && (s.kind == ScalarKind::kInt || s.kind == ScalarKind::kFloat) && !std::isnan(s.number);
  if (!numeric || s.number < min || s.number > max) {
    error(at.line, at.path,
          "expected a number in [" + format_number(min) + ", " + format_number(max) + "], got " + describe(at.node));
    return std::nullopt;
  }
  return s.number;
}

std::optional<bool> Reader::get_bool(const At& at) {
  Scalar s = at.node.IsScalar() ? resolve(at.node) : Scalar{};
  if (!at.node.IsScalar() || s.kind != ScalarKind::kBool) {
    error(at.line, at.path, "expected true or false, got " + describe(at.node));
    return std::nullopt;
  }
  return s.boolean;
}

std::optional<std::vector<std::string>> Reader::get_string_list(const At& at, bool unique) {
  auto list = items(at);
  if (!list) return std::nullopt;
  std::vector<std::string> out;
  std::set<std::string> seen;
  bool ok = true;
  for (const auto& element : *list) {
    auto s = get_string(element);
    if (!s) {
      ok = false;
      continue;
    }
    if (unique && !seen.insert(*s).second) {
      error(element.line, element.path, "duplicate entry " + quote(*s));
      ok = false;
      continue;
    }
    out.push_back(*s);
  }
  if (!ok) return std::nullopt;
  return out;
}

bool Reader::to_json(const At& at, nlohmann::json& out) {
  const YAML::Node& node = at.node;
  if (node.IsMap()) {
    auto list = entries(at);
    if (!list) return false;
    out = nlohmann::json::object();
    bool ok = true;
    for (auto& [name, value] : *list) {
      nlohmann::json v;
      if (to_json(value, v)) {
        out[name] = std::move(v);
      } else {
        ok = false;
      }
    }
    return ok;
  }
  if (node.IsSequence()) {
    out = nlohmann::json::array();
    bool ok = true;
    for (std::size_t i = 0; i < node.size(); ++i) {
      nlohmann::json v;
      if (to_json(item(at, node[i], i), v)) {
        out.push_back(std::move(v));
      } else {
        ok = false;
      }
    }
    return ok;
  }
  Scalar s = resolve(node);
  switch (s.kind) {
    case ScalarKind::kNull:
      out = nullptr;
      return true;
    case ScalarKind::kBool:
      out = s.boolean;
      return true;
    case ScalarKind::kInt:
      out = s.integer;
      return true;
    case ScalarKind::kFloat:
      if (!std::isfinite(s.number)) {
        error(at.line, at.path, "JSON has no value for " + s.text);
        return false;
      }
      out = s.number;
      return true;
    case ScalarKind::kString:
      out = s.text;
      return true;
  }
  return false;
}

std::optional<nlohmann::json> Reader::get_json(const At& at) {
  nlohmann::json out;
  if (!to_json(at, out)) return std::nullopt;
  return out;
}

std::optional<YAML::Node> load_document(std::string_view yaml, Reader& reader, std::string_view empty_message) {
  if (std::size_t bad = first_invalid_utf8(yaml); bad != std::string_view::npos) {
    int line = 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + static_cast<long>(bad), '\n'));
    reader.error(line, "(document)", "invalid UTF-8 at byte " + std::to_string(bad), ErrorCode::kParseError);
    return std::nullopt;
  }
  // YAML streams hold printable characters only (YAML 1.2, c-printable): no C0 control
  // but tab, line feed and carriage return, no DEL. A NUL would also make yaml-cpp guess
  // the text is UTF-16 or UTF-32 and hand back strings that are not UTF-8.
  auto control = std::find_if(yaml.begin(), yaml.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0x7f;
  });
  if (control != yaml.end()) {
    int line = 1 + static_cast<int>(std::count(yaml.begin(), control, '\n'));
    char code[8];
    std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(static_cast<unsigned char>(*control)));
    reader.error(line, "(document)",
                 std::string("control character ") + code + " at byte " + std::to_string(control - yaml.begin()) +
                     " (YAML allows tab, line feed and carriage return only)",
                 ErrorCode::kParseError);
    return std::nullopt;
  }
  // Documents are counted with the event parser first, two at most: on some malformed
  // input yaml-cpp's LoadAll never stops producing documents (a 392-byte file took
  // gigabytes; found by fuzz/yaml_scalar).
  YAML::Node doc;
  try {
    std::istringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    DocumentCounter counter;
    while (counter.documents < 2 && parser.HandleNextDocument(counter)) {
    }
    if (counter.documents == 0) {
      reader.error(1, "", empty_message);
      return std::nullopt;
    }
    if (counter.documents > 1) {
      reader.error(counter.second_line, "(document)", "expected one YAML document, found more");
      return std::nullopt;
    }
    doc = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    reader.error(line, "(document)", "malformed YAML: " + e.msg, ErrorCode::kParseError);
    return std::nullopt;
  }
  Budget used;
  std::string why;
  if (!within_budget(doc, 0, used, why)) {
    reader.error(1, "(document)", why, ErrorCode::kPayloadTooLarge);
    return std::nullopt;
  }
  return doc;
}

}  // namespace ladder::config_detail
