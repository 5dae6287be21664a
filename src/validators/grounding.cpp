#include "validators/grounding.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <optional>
#include <utility>

namespace ladder {
namespace {

// Multi-byte UTF-8 sequences that normalise to one ASCII character ('\0': dropped).
struct Fold {
  std::string_view from;
  char to;
};
constexpr std::array<Fold, 36> kFolds = {{
    // single quotes, primes, backtick-likes
    {"\xE2\x80\x98", '\''},
    {"\xE2\x80\x99", '\''},
    {"\xE2\x80\x9A", '\''},
    {"\xE2\x80\x9B", '\''},
    {"\xE2\x80\xB2", '\''},
    {"\xC2\xB4", '\''},
    {"\xE2\x80\xB9", '\''},
    {"\xE2\x80\xBA", '\''},
    // double quotes
    {"\xE2\x80\x9C", '"'},
    {"\xE2\x80\x9D", '"'},
    {"\xE2\x80\x9E", '"'},
    {"\xE2\x80\x9F", '"'},
    {"\xE2\x80\xB3", '"'},
    {"\xC2\xAB", '"'},
    {"\xC2\xBB", '"'},
    // dashes and minus signs
    {"\xE2\x80\x90", '-'},
    {"\xE2\x80\x91", '-'},
    {"\xE2\x80\x92", '-'},
    {"\xE2\x80\x93", '-'},
    {"\xE2\x80\x94", '-'},
    {"\xE2\x80\x95", '-'},
    {"\xE2\x88\x92", '-'},
    {"\xEF\xB9\xA3", '-'},
    {"\xEF\xBC\x8D", '-'},
    // spaces
    {"\xC2\xA0", ' '},
    {"\xE2\x80\x80", ' '},
    {"\xE2\x80\x82", ' '},
    {"\xE2\x80\x83", ' '},
    {"\xE2\x80\x89", ' '},
    {"\xE2\x80\x8A", ' '},
    {"\xE2\x80\xAF", ' '},
    {"\xE3\x80\x80", ' '},
    // zero-width characters
    {"\xE2\x80\x8B", '\0'},
    {"\xE2\x80\x8C", '\0'},
    {"\xE2\x80\x8D", '\0'},
    {"\xEF\xBB\xBF", '\0'},
}};

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

constexpr std::array<std::string_view, 20> kUnits = {
    "zero", "one",    "two",    "three",    "four",     "five",    "six",     "seven",     "eight",    "nine",
    "ten",  "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr std::array<std::string_view, 8> kTens = {"twenty", "thirty",  "forty",  "fifty",
                                                   "sixty",  "seventy", "eighty", "ninety"};

std::optional<long long> unit_value(std::string_view w) {
  for (std::size_t i = 0; i < kUnits.size(); ++i)
    if (kUnits[i] == w) return static_cast<long long>(i);
  return std::nullopt;
}
std::optional<long long> tens_value(std::string_view w) {
  for (std::size_t i = 0; i < kTens.size(); ++i)
    if (kTens[i] == w) return static_cast<long long>(20 + 10 * i);
  return std::nullopt;
}

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] >= 'a' && text[i] <= 'z') {
      std::size_t j = i;
      while (j < text.size() && text[j] >= 'a' && text[j] <= 'z') ++j;
      words.push_back(text.substr(i, j - i));
      i = j;
    } else {
      ++i;
    }
  }
  return words;
}

// "five", "twenty five" / "twenty-five", "two hundred", "a hundred", "a dozen",
// "three dozen". Deliberately no vague quantities ("a couple", "a few", "several").
void number_words(std::string_view text, std::vector<long long>& out) {
  const auto words = words_of(text);
  auto at = [&](std::size_t k) -> std::string_view { return k < words.size() ? words[k] : ""; };
  std::size_t i = 0;
  while (i < words.size()) {
    const std::string_view w = words[i];
    if (auto u = unit_value(w)) {
      long long value = *u;
      std::size_t next = i + 1;
      if (at(next) == "hundred") {
        value *= 100;
        ++next;
      } else if (at(next) == "dozen") {
        value *= 12;
        ++next;
      }
      out.push_back(value);
      i = next;
    } else if (auto t = tens_value(w)) {
      long long value = *t;
      std::size_t next = i + 1;
      if (auto u2 = unit_value(at(next)); u2 && *u2 >= 1 && *u2 <= 9) {
        value += *u2;
        ++next;
      }
      out.push_back(value);
      i = next;
    } else if ((w == "a" || w == "an") && at(i + 1) == "dozen") {
      out.push_back(12);
      i += 2;
    } else if ((w == "a" || w == "an") && at(i + 1) == "hundred") {
      out.push_back(100);
      i += 2;
    } else if (w == "dozen") {
      out.push_back(12);
      ++i;
    } else if (w == "hundred") {
      out.push_back(100);
      ++i;
    } else {
      ++i;
    }
  }
}

std::optional<long long> as_integer(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    auto u = v.get<unsigned long long>();
    if (u > static_cast<unsigned long long>(LLONG_MAX)) return std::nullopt;
    return static_cast<long long>(u);
  }
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<long long>(d)) && d > -9e18 && d < 9e18) return static_cast<long long>(d);
  }
  return std::nullopt;
}

const nlohmann::json* property_schema(const nlohmann::json& object_schema, const std::string& key) {
  if (!object_schema.is_object()) return nullptr;
  auto props = object_schema.find("properties");
  if (props == object_schema.end() || !props->is_object()) return nullptr;
  auto p = props->find(key);
  return p == props->end() ? nullptr : &*p;
}

bool equals_default(const nlohmann::json* schema, const nlohmann::json& value) {
  if (!schema || !schema->is_object()) return false;
  auto def = schema->find("default");
  return def != schema->end() && *def == value;
}

bool is_closed_choice(const nlohmann::json* schema) {
  return schema && schema->is_object() && (schema->contains("enum") || schema->contains("const"));
}

void check_value(const std::string& name, const nlohmann::json& value, const nlohmann::json* schema,
                 std::string_view input, const std::vector<long long>& numbers, std::vector<std::string>& ungrounded);

// Pronouns, articles, prepositions and conjunctions: a model that copies one of these into
// a name or identifier argument ("label issue 318 for me" → owner "me") has found no value.
bool is_function_word(std::string_view value) {
  static constexpr std::array<std::string_view, 44> kWords = {
      "a",   "an",   "the", "this", "that", "these", "those", "i",      "me",   "my",    "mine",
      "you", "your", "we",  "us",   "our",  "it",    "its",   "they",   "them", "their", "he",
      "him", "his",  "she", "her",  "for",  "of",    "on",    "in",     "at",   "to",    "from",
      "by",  "with", "and", "or",   "into", "onto",  "about", "please", "some", "any",   "all"};
  const std::string v = normalize_for_grounding(value);
  return std::find(kWords.begin(), kWords.end(), v) != kWords.end();
}

void check_object(const std::string& prefix, const nlohmann::json& object, const nlohmann::json& schema,
                  std::string_view input, const std::vector<long long>& numbers, std::vector<std::string>& ungrounded) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string name = prefix.empty() ? it.key() : prefix + "." + it.key();
    check_value(name, it.value(), property_schema(schema, it.key()), input, numbers, ungrounded);
  }
}

// An enum member the input names outright ("using conventional commits") is the one the
// argument must take: a different member, or the default, contradicts the input.
bool contradicts_named_member(const nlohmann::json& value, const nlohmann::json* schema, std::string_view input) {
  if (!schema || !schema->is_object() || !value.is_string()) return false;
  auto e = schema->find("enum");
  if (e == schema->end() || !e->is_array()) return false;
  bool any_named = false;
  for (const auto& member : *e) {
    if (!member.is_string() || !string_grounded(member.get<std::string>(), input)) continue;
    if (member == value) return false;
    any_named = true;
  }
  return any_named;
}

void check_value(const std::string& name, const nlohmann::json& value, const nlohmann::json* schema,
                 std::string_view input, const std::vector<long long>& numbers, std::vector<std::string>& ungrounded) {
  if (contradicts_named_member(value, schema, input)) {
    ungrounded.push_back(name);
    return;
  }
  if (is_closed_choice(schema) || equals_default(schema, value)) return;
  if (value.is_boolean() || value.is_null()) return;
  if (value.is_string()) {
    const std::string& text = value.get<std::string>();
    if (is_function_word(text) || !string_grounded(text, input)) ungrounded.push_back(name);
    return;
  }
  if (value.is_number()) {
    auto n = as_integer(value);
    if (!n || std::find(numbers.begin(), numbers.end(), *n) == numbers.end()) ungrounded.push_back(name);
    return;
  }
  if (value.is_array()) {
    const nlohmann::json* items = nullptr;
    if (schema && schema->is_object()) {
      auto it = schema->find("items");
      if (it != schema->end() && it->is_object()) items = &*it;
    }
    for (std::size_t i = 0; i < value.size(); ++i)
      check_value(name + "[" + std::to_string(i) + "]", value[i], items, input, numbers, ungrounded);
    return;
  }
  if (value.is_object()) {
    static const nlohmann::json kEmpty = nlohmann::json::object();
    check_object(name, value, schema ? *schema : kEmpty, input, numbers, ungrounded);
  }
}

}  // namespace

std::string normalize_for_grounding(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  auto emit = [&](char c) {
    if (c == ' ') {
      pending_space = !out.empty();
      return;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (std::isspace(c))
        emit(' ');
      else if (c == '`')
        emit('\'');
      else
        emit(static_cast<char>(std::tolower(c)));
      ++i;
      continue;
    }
    bool folded = false;
    for (const auto& f : kFolds) {
      if (text.substr(i, f.from.size()) == f.from) {
        if (f.to != '\0') emit(f.to);
        i += f.from.size();
        folded = true;
        break;
      }
    }
    if (!folded) {
      emit(static_cast<char>(c));
      ++i;
    }
  }
  return out;
}

std::size_t occurrences_in(std::string_view value, std::string_view input, std::size_t at_most) {
  const std::string v = normalize_for_grounding(value);
  if (v.empty()) return 0;
  const std::string in = normalize_for_grounding(input);
  // A match must not cut through a word: "acm" is not grounded by "acme".
  const bool check_front = is_word_char(v.front());
  const bool check_back = is_word_char(v.back());
  std::size_t n = 0;
  for (std::size_t at = in.find(v); at != std::string::npos && n < at_most; at = in.find(v, at + 1)) {
    if (check_front && at > 0 && is_word_char(in[at - 1])) continue;
    const std::size_t end = at + v.size();
    if (check_back && end < in.size() && is_word_char(in[end])) continue;
    ++n;
  }
  return n;
}

bool string_grounded(std::string_view value, std::string_view input) { return occurrences_in(value, input, 1) > 0; }

std::optional<long long> number_word_value(std::string_view word) {
  if (auto u = unit_value(word)) return u;
  if (auto t = tens_value(word)) return t;
  if (word == "dozen") return 12;
  return std::nullopt;
}

std::vector<long long> numbers_in_text(std::string_view text) {
  const std::string normalized = normalize_for_grounding(text);
  std::vector<long long> out;
  std::size_t i = 0;
  while (i < normalized.size()) {
    if (normalized[i] >= '0' && normalized[i] <= '9') {
      std::size_t j = i;
      while (j < normalized.size() && normalized[j] >= '0' && normalized[j] <= '9') ++j;
      std::string_view digits(normalized.data() + i, j - i);
      while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
      if (digits.size() <= 18) out.push_back(std::stoll(std::string(digits)));
      i = j;
    } else {
      ++i;
    }
  }
  number_words(normalized, out);
  return out;
}

std::vector<std::string> ungrounded_arguments(const nlohmann::json& args, const nlohmann::json& object_schema,
                                              std::string_view input) {
  std::vector<std::string> ungrounded;
  if (!args.is_object()) {
    ungrounded.push_back("<arguments are not an object>");
    return ungrounded;
  }
  const std::vector<long long> numbers = numbers_in_text(input);
  check_object("", args, object_schema, input, numbers, ungrounded);
  return ungrounded;
}

std::vector<std::string> input_runs(std::string_view input) {
  auto is_span_char = [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c >= 0x80;
  };
  std::vector<std::string> runs;
  std::size_t i = 0;
  while (i < input.size()) {
    if (!is_span_char(static_cast<unsigned char>(input[i]))) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < input.size() && is_span_char(static_cast<unsigned char>(input[j]))) ++j;
    std::string run(input.substr(i, j - i));
    while (!run.empty() && (run.back() == '.' || run.back() == '-' || run.back() == '/' || run.back() == '_'))
      run.pop_back();
    while (!run.empty() && (run.front() == '.' || run.front() == '-' || run.front() == '/')) run.erase(0, 1);
    if (!run.empty()) runs.push_back(std::move(run));
    i = j;
  }
  return runs;
}

std::vector<std::string> free_string_order(const nlohmann::json& schema) {
  std::vector<std::string> order;
  if (!schema.contains("properties") || !schema["properties"].is_object()) return order;
  const auto& props = schema["properties"];
  auto is_free = [&](const std::string& name) {
    const auto& p = props[name];
    return p.is_object() && p.value("type", "") == "string" && !p.contains("enum");
  };
  if (schema.contains("required") && schema["required"].is_array())
    for (const auto& r : schema["required"])
      if (r.is_string() && props.contains(r.get<std::string>()) && is_free(r.get<std::string>()))
        order.push_back(r.get<std::string>());
  for (const auto& [name, _] : props.items()) {
    bool seen = false;
    for (const auto& o : order) seen = seen || o == name;
    if (!seen && is_free(name)) order.push_back(name);
  }
  return order;
}

std::vector<std::string> split_slashes(std::string_view run) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= run.size()) {
    std::size_t slash = run.find('/', start);
    if (slash == std::string_view::npos) slash = run.size();
    parts.emplace_back(run.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace ladder
