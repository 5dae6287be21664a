#include "validators/number_binding.h"

#include <cctype>
#include <optional>

#include "validators/grounding.h"

namespace ladder {
namespace {

// One whitespace-separated piece of the normalised input, edge punctuation trimmed.
struct Chunk {
  std::string word;                 // empty for a number
  std::optional<long long> number;  // digits, "#digits" or a number word
  bool hash = false;                // written "#N"
};

std::optional<long long> digits_value(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoll(std::string(s));
}

bool edge_punct(char c) {
  return c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == '(' || c == ')' || c == '[' ||
         c == ']' || c == '{' || c == '}' || c == '"' || c == '\'' || c == '`';
}

void add_chunk(std::string piece, std::vector<Chunk>& out) {
  while (!piece.empty() && edge_punct(piece.back())) piece.pop_back();
  std::size_t start = 0;
  while (start < piece.size() && edge_punct(piece[start])) ++start;
  piece.erase(0, start);
  if (piece.empty()) return;
  if (piece.front() == '#') {
    if (auto n = digits_value(std::string_view(piece).substr(1))) {
      out.push_back({"", n, true});
      return;
    }
  }
  if (auto n = digits_value(piece)) {
    out.push_back({"", n, false});
    return;
  }
  // "acme/infra#63": the reference's words, then its number.
  if (const auto hash = piece.rfind('#'); hash != std::string::npos && hash > 0) {
    if (auto n = digits_value(std::string_view(piece).substr(hash + 1))) {
      out.push_back({piece.substr(0, hash), std::nullopt, false});
      out.push_back({"", n, true});
      return;
    }
  }
  if (auto n = number_word_value(piece)) {
    out.push_back({"", n, false});
    return;
  }
  out.push_back({std::move(piece), std::nullopt, false});
}

std::vector<Chunk> chunks_of(std::string_view input) {
  const std::string text = normalize_for_grounding(input);
  std::vector<Chunk> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t space = text.find(' ', i);
    const std::size_t end = space == std::string::npos ? text.size() : space;
    add_chunk(text.substr(i, end - i), out);
    i = end + 1;
  }
  return out;
}

// "reviewers" → "reviewer", "days" → "day", "prs" → "pr"; the same rule on both sides.
std::string singular(std::string w) {
  if (w.size() > 4 && w.ends_with("ies")) return w.substr(0, w.size() - 3) + "y";
  if (w.size() > 2 && w.back() == 's' && !w.ends_with("ss")) w.pop_back();
  return w;
}

// "reviewerCount" → reviewer, count; "PRNumber" → pr, number; "issue_number" → issue, number.
std::vector<std::string> name_words(std::string_view name) {
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) words.push_back(cur);
    cur.clear();
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '_' || c == '-' || c == ' ') {
      flush();
      continue;
    }
    if (std::isupper(c) && !cur.empty()) {
      const bool after_lower = std::islower(static_cast<unsigned char>(name[i - 1])) ||
                               std::isdigit(static_cast<unsigned char>(name[i - 1]));
      const bool run_ends = i + 1 < name.size() && std::isupper(static_cast<unsigned char>(name[i - 1])) &&
                            std::islower(static_cast<unsigned char>(name[i + 1]));
      if (after_lower || run_ends) flush();
    }
    cur.push_back(static_cast<char>(std::tolower(c)));
  }
  flush();
  return words;
}

struct Noun {
  std::vector<std::vector<std::string>> cues;  // each a phrase of singular words
  bool identifier = false;
};

Noun noun_of(std::string_view name) {
  Noun noun;
  std::vector<std::string> words;
  for (auto& w : name_words(name)) {
    if (w == "number" || w == "num" || w == "no" || w == "nr" || w == "id") {
      noun.identifier = true;
    } else if (w != "count" && w != "limit" && w != "max" && w != "min" && w != "total" && w != "n") {
      words.push_back(singular(w));
    }
  }
  if (words.empty()) return noun;
  noun.cues.push_back(words);
  if (words.size() > 1) noun.cues.push_back({words.back()});
  if (words.size() == 1 && words[0] == "pr") {
    noun.cues.push_back({"pull", "request"});
    noun.cues.push_back({"merge", "request"});
    noun.cues.push_back({"mr"});
  }
  return noun;
}

// The length of the cue phrase when it starts at chunk k, else 0.
std::size_t cue_at(const std::vector<Chunk>& chunks, std::size_t k, const std::vector<std::string>& cue) {
  if (k + cue.size() > chunks.size()) return 0;
  for (std::size_t j = 0; j < cue.size(); ++j) {
    const Chunk& c = chunks[k + j];
    if (c.number || singular(c.word) != cue[j]) return 0;
  }
  return cue.size();
}

std::string text_of(const std::vector<Chunk>& chunks, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to && i < chunks.size(); ++i) {
    if (!out.empty()) out += ' ';
    const Chunk& c = chunks[i];
    if (!c.number) {
      out += c.word;
      continue;
    }
    if (c.hash) out += '#';
    out += std::to_string(*c.number);
  }
  return out;
}

constexpr std::size_t kWordsBetween = 2;

}  // namespace

std::vector<NumberBinding> numbers_bound_to(std::string_view name, std::string_view input) {
  std::vector<NumberBinding> out;
  const Noun noun = noun_of(name);
  if (noun.cues.empty()) return out;
  const std::vector<Chunk> chunks = chunks_of(input);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    for (const auto& cue : noun.cues) {
      if (noun.identifier) {
        const std::size_t len = cue_at(chunks, i, cue);
        if (len == 0) continue;
        std::size_t p = i + len;
        if (p < chunks.size() && !chunks[p].number &&
            (chunks[p].word == "number" || chunks[p].word == "no" || chunks[p].word == "nr"))
          ++p;
        if (p < chunks.size() && chunks[p].number) {
          out.push_back({*chunks[p].number, text_of(chunks, i, p + 1)});
          break;
        }
      } else if (chunks[i].number && !chunks[i].hash) {
        bool bound = false;
        for (std::size_t k = i + 1; k <= i + 1 + kWordsBetween && k < chunks.size() && !bound; ++k) {
          if (const std::size_t len = cue_at(chunks, k, cue)) {
            out.push_back({*chunks[i].number, text_of(chunks, i, k + len)});
            bound = true;
          } else if (chunks[k].number) {
            break;
          }
        }
        if (bound) break;
      }
    }
    if (noun.identifier && chunks[i].hash) out.push_back({*chunks[i].number, text_of(chunks, i, i + 1)});
  }
  return out;
}

bool is_argument_noun(std::string_view name, std::string_view word) {
  const std::vector<Chunk> chunks = chunks_of(word);
  if (chunks.empty()) return false;
  for (const auto& cue : noun_of(name).cues)
    if (cue.size() == chunks.size() && cue_at(chunks, 0, cue) == cue.size()) return true;
  return false;
}

}  // namespace ladder
