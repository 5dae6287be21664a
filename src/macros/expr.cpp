#include "macros/expr.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <set>

#include <re2/re2.h>
#include <kainjow/mustache.hpp>

namespace ladder::macros {
namespace {

using nlohmann::json;
namespace mstch = kainjow::mustache;

const std::set<std::string> kOps = {"equals",          "not_equals",     "in", "not_in", "contains", "matches",
                                    "exists",          "empty",          "gt", "gte",    "lt",       "lte",
                                    "older_than_days", "newer_than_days"};

mstch::data to_data(const json& value) {
  switch (value.type()) {
    case json::value_t::object: {
      mstch::data out{mstch::data::type::object};
      for (const auto& [k, v] : value.items()) out.set(k, to_data(v));
      return out;
    }
    case json::value_t::array: {
      mstch::data out{mstch::data::type::list};
      for (const auto& v : value) out.push_back(to_data(v));
      return out;
    }
    case json::value_t::string:
      return mstch::data(value.get<std::string>());
    case json::value_t::boolean:
      return mstch::data(value.get<bool>());
    case json::value_t::null:
      return mstch::data(std::string());
    default:
      return mstch::data(value.dump());
  }
}

// A context that remembers names it could not resolve, so a template that names a
// variable the scope lacks fails instead of rendering an empty string.
class StrictContext : public mstch::context<std::string> {
 public:
  explicit StrictContext(const mstch::data* data) : mstch::context<std::string>(data) {}
  const mstch::data* get(const std::string& name) const override {
    const mstch::data* found = mstch::context<std::string>::get(name);
    if (!found && missing_.empty()) missing_ = name;
    return found;
  }
  const std::string& missing() const { return missing_; }

 private:
  mutable std::string missing_;
};

bool valid_pointer(const std::string& text) { return text.empty() || text[0] == '/'; }

Result<json> lookup(const json& scope, const std::string& pointer) {
  try {
    json::json_pointer p(pointer);
    if (!scope.contains(p)) return make_error(ErrorCode::kNotFound, "no value at " + pointer);
    return scope.at(p);
  } catch (const json::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, "bad pointer " + pointer + ": " + e.what());
  }
}

bool truthy_empty(const json& v) {
  if (v.is_null()) return true;
  if (v.is_string() || v.is_array() || v.is_object()) return v.empty();
  return false;
}

std::optional<double> number_of(const json& v) {
  if (v.is_number()) return v.get<double>();
  return std::nullopt;
}

bool loose_equals(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

Result<bool> compare(const std::string& op, const json& subject, const json& operand, const json& scope) {
  if (op == "equals") return loose_equals(subject, operand);
  if (op == "not_equals") return !loose_equals(subject, operand);
  if (op == "in" || op == "not_in") {
    if (!operand.is_array()) return make_error(ErrorCode::kInvalidArgument, op + " needs a list");
    bool found = false;
    for (const auto& v : operand) found = found || loose_equals(subject, v);
    return op == "in" ? found : !found;
  }
  if (op == "contains") {
    if (subject.is_array()) {
      for (const auto& v : subject)
        if (loose_equals(v, operand)) return true;
      return false;
    }
    if (subject.is_string() && operand.is_string())
      return subject.get<std::string>().find(operand.get<std::string>()) != std::string::npos;
    return false;
  }
  if (op == "matches") {
    if (!operand.is_string()) return make_error(ErrorCode::kInvalidArgument, "matches needs a regular expression");
    if (!subject.is_string()) return false;
    RE2 re(operand.get<std::string>());
    if (!re.ok()) return make_error(ErrorCode::kInvalidArgument, "bad regular expression: " + re.error());
    return RE2::PartialMatch(subject.get<std::string>(), re);
  }
  if (op == "empty") {
    if (!operand.is_boolean()) return make_error(ErrorCode::kInvalidArgument, "empty needs true or false");
    return truthy_empty(subject) == operand.get<bool>();
  }
  if (op == "gt" || op == "gte" || op == "lt" || op == "lte") {
    auto a = number_of(subject);
    auto b = number_of(operand);
    if (!a || !b) return false;
    if (op == "gt") return *a > *b;
    if (op == "gte") return *a >= *b;
    if (op == "lt") return *a < *b;
    return *a <= *b;
  }
  if (op == "older_than_days" || op == "newer_than_days") {
    auto days = number_of(operand);
    if (!days) return make_error(ErrorCode::kInvalidArgument, op + " needs a number of days");
    long long now = 0;
    long long then = 0;
    if (!scope.contains("now") || !scope["now"].is_string() || !parse_timestamp(scope["now"].get<std::string>(), now))
      return make_error(ErrorCode::kInternal, "the scope has no clock (/now)");
    if (!subject.is_string() || !parse_timestamp(subject.get<std::string>(), then)) return false;
    double age_days = static_cast<double>(now - then) / 86400.0;
    return op == "older_than_days" ? age_days > *days : age_days < *days;
  }
  return make_error(ErrorCode::kInvalidArgument, "unknown operator " + op);
}

void check_predicate_at(const json& p, const std::string& path, std::vector<ExprProblem>& out);

void check_value_at(const json& expr, const std::string& path, std::vector<ExprProblem>& out) {
  if (expr.is_string()) {
    for (auto& p : check_template(expr.get<std::string>())) out.push_back({path, p.what});
    return;
  }
  if (expr.is_array()) {
    for (std::size_t i = 0; i < expr.size(); ++i) check_value_at(expr[i], path + "[" + std::to_string(i) + "]", out);
    return;
  }
  if (!expr.is_object()) return;
  if (expr.contains("literal")) {
    if (expr.size() != 1) out.push_back({path, "literal stands alone"});
    return;
  }
  if (expr.size() == 1 && expr.contains("length_of")) {
    check_value_at(expr["length_of"], path.empty() ? "length_of" : path + ".length_of", out);
    return;
  }
  if (expr.size() == 1 && expr.contains("test")) {
    check_predicate_at(expr["test"], path.empty() ? "test" : path + ".test", out);
    return;
  }
  if (expr.contains("ref")) {
    const json& ref = expr["ref"];
    if (!ref.is_string() || !valid_pointer(ref.get<std::string>()))
      out.push_back({path.empty() ? "ref" : path + ".ref", "expected a JSON Pointer such as /args/owner"});
    for (const auto& [k, v] : expr.items()) {
      if (k != "ref" && k != "default")
        out.push_back({path.empty() ? k : path + "." + k, "unknown key next to ref (expected default)"});
    }
    return;
  }
  for (const auto& [k, v] : expr.items()) check_value_at(v, path.empty() ? k : path + "." + k, out);
}

void check_predicate_at(const json& p, const std::string& path, std::vector<ExprProblem>& out) {
  auto sub = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
  if (p.is_boolean()) return;
  if (!p.is_object() || p.empty()) {
    out.push_back({path, "expected a predicate: true, false, all, any, not, or {ref: ..., <op>: ...}"});
    return;
  }
  if (p.contains("all") || p.contains("any")) {
    const char* key = p.contains("all") ? "all" : "any";
    if (p.size() != 1) out.push_back({path, std::string(key) + " stands alone"});
    const json& list = p[key];
    if (!list.is_array() || list.empty()) {
      out.push_back({sub(key), "expected a non-empty list of predicates"});
      return;
    }
    for (std::size_t i = 0; i < list.size(); ++i)
      check_predicate_at(list[i], sub(key) + "[" + std::to_string(i) + "]", out);
    return;
  }
  if (p.contains("not")) {
    if (p.size() != 1) out.push_back({path, "not stands alone"});
    check_predicate_at(p["not"], sub("not"), out);
    return;
  }
  bool has_subject = p.contains("ref") || p.contains("value");
  if (!has_subject) out.push_back({path, "a comparison needs ref or value"});
  if (p.contains("ref") && (!p["ref"].is_string() || !valid_pointer(p["ref"].get<std::string>())))
    out.push_back({sub("ref"), "expected a JSON Pointer such as /args/owner"});
  if (p.contains("value")) check_value_at(p["value"], sub("value"), out);
  int ops = 0;
  for (const auto& [k, v] : p.items()) {
    if (k == "ref" || k == "value") continue;
    if (!kOps.count(k)) {
      out.push_back({sub(k), "unknown operator " + k});
      continue;
    }
    ++ops;
    check_value_at(v, sub(k), out);
    if (k == "matches" && v.is_string()) {
      RE2 re(v.get<std::string>());
      if (!re.ok()) out.push_back({sub(k), "bad regular expression: " + re.error()});
    }
    if ((k == "exists" || k == "empty") && !v.is_boolean()) out.push_back({sub(k), "expected true or false"});
  }
  if (ops != 1 && has_subject) out.push_back({path, "a comparison takes exactly one operator"});
}

}  // namespace

bool is_template(const std::string& text) { return text.find("{{") != std::string::npos; }

std::string url_encode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> render_template(const std::string& text, const json& scope, Escape escape) {
  if (!is_template(text)) return text;
  mstch::mustache tmpl(text);
  if (!tmpl.is_valid()) return make_error(ErrorCode::kInvalidArgument, "template: " + tmpl.error_message());
  if (escape == Escape::kUrlComponent) {
    tmpl.set_custom_escape([](const std::string& s) { return url_encode(s); });
  } else {
    tmpl.set_custom_escape([](const std::string& s) { return s; });
  }
  mstch::data data = to_data(scope);
  StrictContext ctx(&data);
  std::string rendered = tmpl.render(ctx);
  if (!ctx.missing().empty())
    return make_error(ErrorCode::kInvalidArgument, "template refers to " + ctx.missing() + ", which is not set");
  if (!tmpl.is_valid()) return make_error(ErrorCode::kInvalidArgument, "template: " + tmpl.error_message());
  return rendered;
}

Result<json> eval_value(const json& expr, const json& scope) {
  if (expr.is_string()) {
    auto text = render_template(expr.get<std::string>(), scope);
    if (!text.ok()) return text.status();
    return json(*text);
  }
  if (expr.is_array()) {
    json out = json::array();
    for (const auto& item : expr) {
      auto v = eval_value(item, scope);
      if (!v.ok()) return v;
      out.push_back(std::move(*v));
    }
    return out;
  }
  if (!expr.is_object()) return expr;
  if (expr.size() == 1 && expr.contains("literal")) return expr["literal"];
  if (expr.size() == 1 && expr.contains("length_of")) {
    auto v = eval_value(expr["length_of"], scope);
    if (!v.ok()) return v;
    if (v->is_null()) return json(0);
    if (v->is_string()) return json(v->get<std::string>().size());
    if (v->is_array() || v->is_object()) return json(v->size());
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("length_of needs a list, object or string, got ") + v->type_name());
  }
  if (expr.size() == 1 && expr.contains("test")) {
    auto b = eval_predicate(expr["test"], scope);
    if (!b.ok()) return b.status();
    return json(*b);
  }
  if (expr.contains("ref") && expr["ref"].is_string()) {
    auto v = lookup(scope, expr["ref"].get<std::string>());
    if (!v.ok() && expr.contains("default")) return expr["default"];
    return v;
  }
  json out = json::object();
  for (const auto& [k, v] : expr.items()) {
    auto r = eval_value(v, scope);
    if (!r.ok()) return r;
    out[k] = std::move(*r);
  }
  return out;
}

Result<bool> eval_predicate(const json& p, const json& scope) {
  if (p.is_null()) return true;
  if (p.is_boolean()) return p.get<bool>();
  if (!p.is_object()) return make_error(ErrorCode::kInvalidArgument, "not a predicate: " + p.dump());
  if (p.contains("all") || p.contains("any")) {
    bool all = p.contains("all");
    for (const auto& sub : p[all ? "all" : "any"]) {
      auto r = eval_predicate(sub, scope);
      if (!r.ok()) return r;
      if (all && !*r) return false;
      if (!all && *r) return true;
    }
    return all;
  }
  if (p.contains("not")) {
    auto r = eval_predicate(p["not"], scope);
    if (!r.ok()) return r;
    return !*r;
  }
  json subject;
  bool present = true;
  if (p.contains("ref")) {
    auto v = lookup(scope, p["ref"].get<std::string>());
    if (v.ok()) {
      subject = std::move(*v);
    } else if (v.status().code() == ErrorCode::kNotFound) {
      present = false;
    } else {
      return v.status();
    }
  } else if (p.contains("value")) {
    auto v = eval_value(p["value"], scope);
    if (!v.ok()) return v.status();
    subject = std::move(*v);
  }
  for (const auto& [op, operand_expr] : p.items()) {
    if (op == "ref" || op == "value") continue;
    if (op == "exists") return present == operand_expr.get<bool>();
    auto operand = eval_value(operand_expr, scope);
    if (!operand.ok()) return operand.status();
    return compare(op, subject, *operand, scope);
  }
  return make_error(ErrorCode::kInvalidArgument, "a comparison without an operator");
}

std::vector<ExprProblem> check_value(const json& expr) {
  std::vector<ExprProblem> out;
  check_value_at(expr, "", out);
  return out;
}

std::vector<ExprProblem> check_predicate(const json& predicate) {
  std::vector<ExprProblem> out;
  check_predicate_at(predicate, "", out);
  return out;
}

std::vector<ExprProblem> check_template(const std::string& text) {
  if (!is_template(text)) return {};
  mstch::mustache tmpl(text);
  if (!tmpl.is_valid()) return {{"", "template: " + tmpl.error_message()}};
  return {};
}

bool parse_timestamp(const std::string& text, long long& seconds) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return false;
  if (*rest == '.') {
    ++rest;
    while (std::isdigit(static_cast<unsigned char>(*rest))) ++rest;
  }
  long offset = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int sign = *rest == '-' ? -1 : 1;
    int hh = 0;
    int mm = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return false;
    offset = sign * (hh * 3600L + mm * 60L);
    rest += 6;
  } else {
    return false;
  }
  if (*rest != '\0') return false;
  seconds = static_cast<long long>(timegm(&tm)) - offset;
  return true;
}

std::string format_timestamp(long long seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace ladder::macros
