#include "distill/distill.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "ladder/utf8.h"

namespace ladder::distill {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap_year(y) ? 29 : kDays[m - 1];
}

// Reads exactly `width` ASCII digits at `pos`.
std::optional<int> read_digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

Result<Timestamp> timestamp_from_number(const nlohmann::json& value) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      return make_error(ErrorCode::kInvalidArgument, "ts: number out of range");
    return Timestamp{value.get<std::int64_t>(), 0};
  }
  double v = value.get<double>();
  if (!std::isfinite(v) || std::fabs(v) > 9.0e15)
    return make_error(ErrorCode::kInvalidArgument, "ts: number out of range");
  double whole = std::floor(v);
  auto nanos = static_cast<std::int64_t>(std::llround((v - whole) * static_cast<double>(kNanosPerSecond)));
  auto seconds = static_cast<std::int64_t>(whole);
  if (nanos >= kNanosPerSecond) {
    seconds += 1;
    nanos -= kNanosPerSecond;
  }
  return Timestamp{seconds, static_cast<std::int32_t>(nanos)};
}

Status field_error(std::string_view field, std::string_view what) {
  return make_error(ErrorCode::kParseError, std::string(field) + ": " + std::string(what));
}

// One line's object → ToolCall; the error message names the field.
Result<ToolCall> call_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error(ErrorCode::kParseError, "expected a JSON object");
  ToolCall call;
  for (const char* key : {"session", "tool"}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
      return field_error(key, "expected a non-empty string");
    (std::string_view(key) == "session" ? call.session : call.tool) = it->get<std::string>();
  }
  auto args = j.find("args");
  if (args == j.end() || !args->is_object()) return field_error("args", "expected an object");
  call.args = *args;
  auto ts = j.find("ts");
  if (ts == j.end() || !(ts->is_string() || ts->is_number()))
    return field_error("ts", "expected an RFC 3339 string or a number of seconds");
  auto parsed = ts->is_string() ? parse_rfc3339(ts->get_ref<const std::string&>()) : timestamp_from_number(*ts);
  if (!parsed.ok()) return make_error(ErrorCode::kParseError, parsed.status().message());
  call.ts = *parsed;
  return call;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// JSON Schema type name(s) of a set of observed values: integers fold into "number" when
// both occur; several types become a sorted array.
nlohmann::json schema_type(const std::vector<const nlohmann::json*>& values) {
  std::set<std::string> types;
  for (const auto* v : values) {
    if (v->is_boolean())
      types.insert("boolean");
    else if (v->is_number_integer())
      types.insert("integer");
    else if (v->is_number())
      types.insert("number");
    else if (v->is_string())
      types.insert("string");
    else if (v->is_array())
      types.insert("array");
    else if (v->is_object())
      types.insert("object");
    else
      types.insert("null");
  }
  if (types.count("number") && types.count("integer")) types.erase("integer");
  if (types.size() == 1) return *types.begin();
  return nlohmann::json(std::vector<std::string>(types.begin(), types.end()));
}

std::string property_name(std::size_t step, const std::string& arg) { return std::to_string(step) + "_" + arg; }

using ToolIds = std::vector<int>;

struct Occurrence {
  std::size_t session = 0;  // index into the session list
  std::size_t start = 0;    // index of the first call in that session's ordered calls
};

struct Candidate {
  std::vector<Occurrence> occurrences;
  std::set<std::size_t> sessions;
};

// Infers each step's arguments and the input schema from every occurrence of `tools`.
void infer_skeleton(const std::vector<std::vector<const ToolCall*>>& sessions, const std::vector<Occurrence>& occs,
                    Sequence& seq) {
  nlohmann::json properties = nlohmann::json::object();
  std::vector<std::string> required;
  // (step, arg) of each input so far, in step order: candidates for wiring.
  std::vector<std::pair<std::size_t, std::string>> inputs;
  auto value_at = [&](const Occurrence& o, std::size_t step, const std::string& arg) -> const nlohmann::json* {
    const auto& args = sessions[o.session][o.start + step]->args;
    auto it = args.find(arg);
    return it == args.end() ? nullptr : &*it;
  };
  for (std::size_t step = 0; step < seq.tools.size(); ++step) {
    Step out;
    out.tool = seq.tools[step];
    std::set<std::string> names;
    for (const auto& o : occs)
      for (const auto& [k, v] : sessions[o.session][o.start + step]->args.items()) names.insert(k);
    for (const auto& name : names) {
      std::vector<const nlohmann::json*> values;
      for (const auto& o : occs)
        if (const auto* v = value_at(o, step, name)) values.push_back(v);
      bool everywhere = values.size() == occs.size();
      bool same = std::all_of(values.begin(), values.end(), [&](const auto* v) { return *v == *values[0]; });
      StepArg arg;
      arg.name = name;
      if (everywhere && same) {
        arg.role = ArgRole::kConstant;
        arg.value = *values[0];
        out.args.push_back(std::move(arg));
        continue;
      }
      if (everywhere) {
        for (const auto& source : inputs) {
          std::size_t src_step = source.first;
          const std::string& src_arg = source.second;
          bool equal = std::all_of(occs.begin(), occs.end(), [&](const Occurrence& o) {
            const auto* src = value_at(o, src_step, src_arg);
            return src != nullptr && *src == *value_at(o, step, name);
          });
          if (equal) {
            arg.role = ArgRole::kWired;
            arg.property = property_name(src_step, src_arg);
            break;
          }
        }
        if (arg.role == ArgRole::kWired) {
          out.args.push_back(std::move(arg));
          continue;
        }
      }
      arg.role = ArgRole::kInput;
      arg.property = property_name(step, name);
      properties[arg.property] = {
          {"type", schema_type(values)},
          {"description", "step " + std::to_string(step) + " (" + seq.tools[step] + ") argument " + name}};
      if (everywhere) {
        required.push_back(arg.property);
        inputs.emplace_back(step, name);  // only arguments present everywhere can feed later steps
      }
      out.args.push_back(std::move(arg));
    }
    seq.steps.push_back(std::move(out));
  }
  seq.input_schema = {
      {"type", "object"}, {"properties", properties}, {"required", required}, {"additionalProperties", false}};
}

}  // namespace

Result<Timestamp> parse_rfc3339(std::string_view text) {
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidArgument, "ts: \"" + std::string(text) + "\" is not an RFC 3339 date-time");
  };
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':') return bad();
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return bad();
  auto year = read_digits(text, 0, 4), month = read_digits(text, 5, 2), day = read_digits(text, 8, 2);
  auto hour = read_digits(text, 11, 2), minute = read_digits(text, 14, 2), second = read_digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return bad();
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month)) return bad();
  if (*hour > 23 || *minute > 59 || *second > 60) return bad();
  std::size_t pos = 19;
  std::int64_t nanos = 0;
  if (text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (std::size_t i = digits; i < 9; ++i) nanos *= 10;
  }
  if (pos >= text.size()) return bad();
  std::int64_t offset = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    auto oh = read_digits(text, pos + 1, 2), om = read_digits(text, pos + 4, 2);
    if (!oh || !om || pos + 3 >= text.size() || text[pos + 3] != ':' || *oh > 23 || *om > 59) return bad();
    offset = (std::int64_t{*oh} * 3600 + std::int64_t{*om} * 60) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  std::int64_t seconds = days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)) * 86400 +
                         std::int64_t{*hour} * 3600 + std::int64_t{*minute} * 60 + *second - offset;
  return Timestamp{seconds, static_cast<std::int32_t>(nanos)};
}

Result<std::vector<ToolCall>> parse_log(std::string_view text, std::string_view source) {
  std::vector<ToolCall> calls;
  std::vector<std::string> errors;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    auto fail = [&](const std::string& what) {
      errors.push_back(std::string(source) + ":" + std::to_string(line_no) + ": " + what);
    };
    if (trim(line).empty()) continue;
    if (std::size_t bad = first_invalid_utf8(line); bad != std::string_view::npos) {
      fail("invalid UTF-8 at byte " + std::to_string(bad + 1));
      continue;
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      fail("invalid JSON at byte " + std::to_string(e.byte));
      continue;
    } catch (const nlohmann::json::exception& e) {  // out_of_range: a number past a double (1e400)
      fail(std::string("invalid JSON: ") + e.what());
      continue;
    }
    auto call = call_from_json(j);
    if (!call.ok()) {
      fail(call.status().message());
      continue;
    }
    call->line = line_no;
    calls.push_back(std::move(*call));
  }
  if (errors.empty()) return calls;
  std::string message;
  for (std::size_t i = 0; i < errors.size() && i < kMaxReportedErrors; ++i) {
    if (i > 0) message += "\n";
    message += errors[i];
  }
  if (errors.size() > kMaxReportedErrors)
    message += "\n... and " + std::to_string(errors.size() - kMaxReportedErrors) + " more bad lines";
  return make_error(ErrorCode::kParseError, message);
}

std::string macro_base_name(const std::string& first_tool, const std::string& last_tool) {
  std::string name = first_tool + "_" + last_tool;
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) c = '_';
  }
  return name;
}

Result<std::vector<Sequence>> find_sequences(const std::vector<ToolCall>& calls, const DistillOptions& options) {
  if (options.min_sessions == 0) return make_error(ErrorCode::kInvalidArgument, "min-sessions must be at least 1");

  // Group by session (first appearance order), then order each by ts; ties keep file order.
  std::vector<std::string> session_ids;
  std::map<std::string, std::size_t> session_index;
  std::vector<std::vector<const ToolCall*>> sessions;
  for (const auto& c : calls) {
    auto [it, inserted] = session_index.try_emplace(c.session, sessions.size());
    if (inserted) {
      session_ids.push_back(c.session);
      sessions.emplace_back();
    }
    sessions[it->second].push_back(&c);
  }
  for (auto& s : sessions)
    std::stable_sort(s.begin(), s.end(), [](const ToolCall* a, const ToolCall* b) { return a->ts < b->ts; });

  std::map<std::string, int> tool_index;
  std::vector<std::string> tool_names;
  std::vector<std::vector<int>> tools(sessions.size());
  for (std::size_t s = 0; s < sessions.size(); ++s)
    for (const auto* c : sessions[s]) {
      auto [it, inserted] = tool_index.try_emplace(c->tool, static_cast<int>(tool_names.size()));
      if (inserted) tool_names.push_back(c->tool);
      tools[s].push_back(it->second);
    }

  // Grow frequent sequences one call at a time: a sequence in K sessions has a prefix in
  // at least K sessions, so only frequent sequences are extended.
  std::map<ToolIds, Candidate> frequent;
  std::map<ToolIds, Candidate> level;
  for (std::size_t s = 0; s < tools.size(); ++s)
    for (std::size_t i = 0; i + 1 < tools[s].size(); ++i) {
      auto& c = level[{tools[s][i], tools[s][i + 1]}];
      c.occurrences.push_back({s, i});
      c.sessions.insert(s);
    }
  while (!level.empty()) {
    std::map<ToolIds, Candidate> next;
    for (auto& [ids, cand] : level) {
      if (cand.sessions.size() < options.min_sessions) continue;
      // Group by the call that follows, then build each longer key once.
      std::map<int, Candidate> by_next;
      for (const auto& o : cand.occurrences) {
        if (o.start + ids.size() >= tools[o.session].size()) continue;
        auto& c = by_next[tools[o.session][o.start + ids.size()]];
        c.occurrences.push_back(o);
        c.sessions.insert(o.session);
      }
      for (auto& [tool, c] : by_next) {
        ToolIds longer = ids;
        longer.push_back(tool);
        next.emplace(std::move(longer), std::move(c));
      }
      frequent.emplace(ids, std::move(cand));
    }
    level = std::move(next);
  }

  // A sequence is maximal unless a one-call-longer frequent sequence containing it has the
  // same sessions (containment with equal sessions is transitive through such steps).
  std::set<ToolIds> covered;
  for (const auto& [ids, cand] : frequent) {
    if (ids.size() < 3) continue;
    ToolIds prefix(ids.begin(), ids.end() - 1);
    ToolIds suffix(ids.begin() + 1, ids.end());
    for (const auto& part : {prefix, suffix}) {
      auto it = frequent.find(part);
      if (it != frequent.end() && it->second.sessions == cand.sessions) covered.insert(part);
    }
  }

  std::vector<Sequence> out;
  for (const auto& [ids, cand] : frequent) {
    if (covered.count(ids)) continue;
    Sequence seq;
    for (int id : ids) seq.tools.push_back(tool_names[id]);
    for (std::size_t s : cand.sessions) seq.sessions.push_back(session_ids[s]);
    std::sort(seq.sessions.begin(), seq.sessions.end());
    seq.occurrences = cand.occurrences.size();
    infer_skeleton(sessions, cand.occurrences, seq);
    out.push_back(std::move(seq));
  }
  std::sort(out.begin(), out.end(), [](const Sequence& a, const Sequence& b) {
    if (a.tools.size() != b.tools.size()) return a.tools.size() > b.tools.size();
    if (a.sessions.size() != b.sessions.size()) return a.sessions.size() > b.sessions.size();
    return a.tools < b.tools;
  });
  // Names: the first sequence with a given base gets _v1, the next _v2, and so on.
  std::map<std::string, int> versions;
  for (auto& seq : out) {
    std::string base = macro_base_name(seq.tools.front(), seq.tools.back());
    seq.name = base + "_v" + std::to_string(++versions[base]);
  }
  return out;
}

std::string_view arg_role_name(ArgRole role) {
  switch (role) {
    case ArgRole::kConstant:
      return "constant";
    case ArgRole::kInput:
      return "input";
    case ArgRole::kWired:
      return "wired";
  }
  return "unknown";
}

nlohmann::json to_json(const Sequence& sequence) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& step : sequence.steps) {
    nlohmann::json constants = nlohmann::json::object();
    nlohmann::json inputs = nlohmann::json::object();
    nlohmann::json wired = nlohmann::json::object();
    for (const auto& arg : step.args) {
      if (arg.role == ArgRole::kConstant) constants[arg.name] = arg.value;
      if (arg.role == ArgRole::kInput) inputs[arg.name] = arg.property;
      if (arg.role == ArgRole::kWired) wired[arg.name] = arg.property;
    }
    steps.push_back({{"tool", step.tool}, {"constants", constants}, {"inputs", inputs}, {"wired", wired}});
  }
  return {{"name", sequence.name},
          {"tools", sequence.tools},
          {"sessions", sequence.sessions.size()},
          {"session_ids", sequence.sessions},
          {"occurrences", sequence.occurrences},
          {"encoded", !sequence.encoded_by.empty()},
          {"encoded_by", sequence.encoded_by.empty() ? nlohmann::json() : nlohmann::json(sequence.encoded_by)},
          {"steps", steps},
          {"input_schema", sequence.input_schema}};
}

std::size_t mark_encoded(std::vector<Sequence>& sequences, const std::vector<EncodedTools>& macros) {
  std::size_t unencoded = 0;
  for (auto& seq : sequences) {
    seq.encoded_by.clear();
    for (const auto& m : macros) {
      auto at = std::search(m.tools.begin(), m.tools.end(), seq.tools.begin(), seq.tools.end());
      if (!seq.tools.empty() && at != m.tools.end()) {
        seq.encoded_by = m.macro;
        break;
      }
    }
    if (seq.encoded_by.empty()) ++unencoded;
  }
  return unencoded;
}

}  // namespace ladder::distill
