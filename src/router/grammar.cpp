#include "router/grammar.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <set>

#include <re2/re2.h>

#include "validators/grounding.h"

namespace ladder {

std::string gbnf_literal(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char* kHex = "0123456789ABCDEF";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  return out;
}

namespace {

// A JSON string literal (with quotes) as it appears in the answer, then as GBNF.
std::string json_string_gbnf(std::string_view value) { return gbnf_literal(nlohmann::json(std::string(value)).dump()); }

std::string alternation(const std::vector<std::string>& gbnf_items) {
  std::string out = "(";
  for (std::size_t i = 0; i < gbnf_items.size(); ++i) {
    if (i) out += " | ";
    out += gbnf_items[i];
  }
  out += ")";
  return out;
}

void add_unique(std::vector<std::string>& out, std::set<std::string>& seen, std::string s) {
  while (!s.empty() && (s.back() == '.' || s.back() == '-' || s.back() == '/' || s.back() == '_')) s.pop_back();
  while (!s.empty() && (s.front() == '.' || s.front() == '-' || s.front() == '/')) s.erase(0, 1);
  if (s.empty() || s.size() > 100) return;
  if (seen.insert(s).second) out.push_back(std::move(s));
}

}  // namespace

std::string closed_choice_prefix(std::string_view key) {
  return "{" + nlohmann::json(std::string(key)).dump() + ": \"";
}

std::string closed_choice_grammar(std::string_view key, const std::vector<std::string>& choices) {
  std::vector<std::string> items;
  items.reserve(choices.size());
  for (const auto& c : choices) items.push_back(json_string_gbnf(c));
  return "root ::= \" \"? " + gbnf_literal("{" + nlohmann::json(std::string(key)).dump() + ": ") + " " +
         alternation(items) + " " + gbnf_literal("}") + "\n";
}

std::string closed_choice_tail_grammar(const std::vector<std::string>& choices) {
  std::vector<std::string> items;
  items.reserve(choices.size());
  for (const auto& c : choices) {
    std::string quoted = nlohmann::json(c).dump();
    items.push_back(gbnf_literal(std::string_view(quoted).substr(1, quoted.size() - 2)));
  }
  return "root ::= " + alternation(items) + " " + gbnf_literal("\"}") + "\n";
}

std::vector<std::string> input_spans(std::string_view input) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& run : input_runs(input)) {
    add_unique(out, seen, run);
    // Parts of a path-like run: "acme/checkout" → "acme", "checkout".
    if (run.find('/') == std::string::npos) continue;
    for (auto& part : split_slashes(run)) add_unique(out, seen, std::move(part));
  }
  return out;
}

std::vector<std::string> argument_order(const nlohmann::json& schema) {
  std::vector<std::string> order;
  std::set<std::string> seen;
  if (schema.contains("required") && schema["required"].is_array()) {
    for (const auto& r : schema["required"]) {
      if (r.is_string() && schema.contains("properties") && schema["properties"].contains(r.get<std::string>()) &&
          seen.insert(r.get<std::string>()).second)
        order.push_back(r.get<std::string>());
    }
  }
  if (schema.contains("properties") && schema["properties"].is_object()) {
    for (const auto& [name, _] : schema["properties"].items())
      if (seen.insert(name).second) order.push_back(name);
  }
  return order;
}

std::string macro_args_grammar(const nlohmann::json& schema, std::string_view input) {
  if (!schema.is_object() || !schema.contains("properties")) return {};
  const auto& props = schema["properties"];
  const std::vector<long long> numbers = numbers_in_text(input);
  const std::vector<std::string> spans = input_spans(input);

  std::string rules;
  std::string root = "root ::= \" \"? \"{\"";
  bool first = true;
  for (const auto& name : argument_order(schema)) {
    const auto& p = props[name];
    std::vector<std::string> values;  // GBNF items
    std::set<std::string> seen_values;
    auto add_value = [&](const std::string& json_text) {
      if (seen_values.insert(json_text).second) values.push_back(gbnf_literal(json_text));
    };
    const std::string type = p.value("type", "");
    if (p.contains("enum") && p["enum"].is_array()) {
      for (const auto& e : p["enum"]) add_value(e.dump());
    } else if (type == "integer" || type == "number") {
      const long long lo =
          p.contains("minimum") && p["minimum"].is_number() ? p["minimum"].get<long long>() : LLONG_MIN;
      const long long hi =
          p.contains("maximum") && p["maximum"].is_number() ? p["maximum"].get<long long>() : LLONG_MAX;
      if (p.contains("default") && p["default"].is_number_integer()) add_value(p["default"].dump());
      for (long long n : numbers)
        if (n >= lo && n <= hi) add_value(std::to_string(n));
    } else if (type == "string") {
      if (p.contains("default") && p["default"].is_string()) add_value(p["default"].dump());
      std::unique_ptr<RE2> pattern;
      if (p.contains("pattern") && p["pattern"].is_string()) {
        pattern = std::make_unique<RE2>(p["pattern"].get<std::string>(), RE2::Quiet);
        if (!pattern->ok()) pattern.reset();
      }
      for (const auto& s : spans) {
        if (pattern && !RE2::PartialMatch(s, *pattern)) continue;
        add_value(nlohmann::json(s).dump());
      }
    } else if (type == "boolean") {
      add_value("true");
      add_value("false");
    }
    if (values.empty()) {
      bool required = false;
      if (schema.contains("required") && schema["required"].is_array())
        for (const auto& r : schema["required"]) required = required || r == name;
      if (required) return {};  // nothing in the input supports a required property
      continue;
    }
    std::string rule_name = "arg-";
    for (char c : name)
      rule_name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
    rule_name += "-" + std::to_string(rules.size());
    rules += rule_name + " ::= " + alternation(values) + "\n";
    root += " " + gbnf_literal((first ? "" : ", ") + nlohmann::json(name).dump() + ": ") + " " + rule_name;
    first = false;
  }
  root += " \"}\"\n";
  return root + rules;
}

}  // namespace ladder
