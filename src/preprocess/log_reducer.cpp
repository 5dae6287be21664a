#include "preprocess/log_reducer.h"

#include <algorithm>
#include <vector>

#include "ladder/utf8.h"
#include "policy/gates.h"
#include "preprocess/log_lines.h"

namespace ladder {
namespace {

struct Entry {
  std::string text;  // cleaned line, cut to max_line_bytes
  std::string key;
  std::string family;
  bool decisive = false;
  std::size_t similar = 0;  // following lines folded into this one
};

std::string similar_note(std::size_t n) {
  return "... (" + std::to_string(n) + (n == 1 ? " similar line)" : " similar lines)");
}

std::string omitted_note(std::size_t n) {
  return "... (" + std::to_string(n) + (n == 1 ? " line omitted)" : " lines omitted)");
}

std::string render_entry(const Entry& e) { return e.similar ? e.text + "\n" + similar_note(e.similar) : e.text; }

std::vector<Entry> collapse(std::string_view text, const LogReduceOptions& opt, ReducedLog& out) {
  std::vector<Entry> entries;
  const std::size_t max_bytes = static_cast<std::size_t>(std::max(opt.max_line_bytes, 16));
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view raw = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (nl == text.size() && raw.empty()) break;
    ++out.original_lines;
    std::string line = clean_log_line(raw);
    if (blank_log_line(line)) continue;
    if (line.size() > max_bytes) line = std::string(utf8_prefix(line, max_bytes)) + "…";
    Entry e;
    e.key = log_line_key(line);
    e.family = log_line_family(e.key);
    e.decisive = decisive_log_line(line);
    if (e.decisive) ++out.decisive_lines;
    if (!entries.empty()) {
      Entry& prev = entries.back();
      const bool same = prev.key == e.key;
      const bool near = !e.decisive && !prev.decisive && prev.family == e.family;
      if (same || near) {
        ++prev.similar;
        continue;
      }
    }
    e.text = std::move(line);
    entries.push_back(std::move(e));
  }
  return entries;
}

// The entries in log order, "... (N lines omitted)" where entries were left out.
std::string render(const std::vector<Entry>& entries, const std::vector<bool>& keep) {
  std::string out;
  std::size_t skipped = 0;
  auto emit = [&](const std::string& line) {
    if (!out.empty()) out += '\n';
    out += line;
  };
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!keep[i]) {
      skipped += 1 + entries[i].similar;
      continue;
    }
    if (skipped) emit(omitted_note(skipped));
    skipped = 0;
    emit(render_entry(entries[i]));
  }
  if (skipped && !out.empty()) emit(omitted_note(skipped));
  return out;
}

// Candidates by priority: decisive lines (first and last, then the others in order),
// their context, the tail, the head.
std::vector<std::size_t> priorities(const std::vector<Entry>& entries, const LogReduceOptions& opt) {
  std::vector<std::size_t> decisive;
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (entries[i].decisive) decisive.push_back(i);
  std::vector<std::size_t> order;
  std::vector<bool> seen(entries.size(), false);
  auto add = [&](std::size_t i) {
    if (i < entries.size() && !seen[i]) {
      seen[i] = true;
      order.push_back(i);
    }
  };
  if (!decisive.empty()) {
    add(decisive.front());
    add(decisive.back());
  }
  for (auto i : decisive) add(i);
  const std::size_t ctx = static_cast<std::size_t>(std::max(opt.context_lines, 0));
  for (std::size_t d = 1; d <= ctx; ++d) {
    for (auto i : decisive) {
      if (i >= d) add(i - d);
      add(i + d);
    }
  }
  const std::size_t tail = static_cast<std::size_t>(std::max(opt.tail_lines, 0));
  for (std::size_t k = 0; k < tail && k < entries.size(); ++k) add(entries.size() - 1 - k);
  const std::size_t head = static_cast<std::size_t>(std::max(opt.head_lines, 0));
  for (std::size_t k = 0; k < head; ++k) add(k);
  return order;
}

// The longest code-point prefix of `text` within `budget` tokens.
std::string fit_prefix(const std::string& text, int budget, const TokenCounter& count) {
  std::size_t lo = 0, hi = text.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo + 1) / 2;
    if (count(utf8_prefix(text, mid)) <= budget)
      lo = mid;
    else
      hi = mid - 1;
  }
  return std::string(utf8_prefix(text, lo));
}

}  // namespace

ReducedLog reduce_log(std::string_view input, const LogReduceOptions& options) {
  ReducedLog out;
  out.original_bytes = input.size();
  const TokenCounter count = options.count_tokens ? options.count_tokens : TokenCounter(estimate_tokens);
  const int budget = std::max(options.max_tokens, 0);

  std::string clean;
  if (!valid_utf8(input)) {
    out.invalid_utf8 = true;
    clean = sanitize_utf8(input);
    input = clean;
  }
  const std::vector<Entry> entries = collapse(input, options, out);

  std::vector<bool> keep(entries.size(), true);
  std::string text = render(entries, keep);
  if (count(text) > budget) {
    std::fill(keep.begin(), keep.end(), false);
    text.clear();
    constexpr int kMaxTries = 400;  // bounds the work on huge logs
    int tries = 0;
    for (std::size_t i : priorities(entries, options)) {
      if (++tries > kMaxTries) break;
      keep[i] = true;
      std::string candidate = render(entries, keep);
      if (count(candidate) <= budget)
        text = std::move(candidate);
      else
        keep[i] = false;
    }
    const std::size_t first = entries.empty() ? 0 : priorities(entries, options).front();
    if (!entries.empty() && !keep[first]) {
      // The most important line does not fit with its gap notes: it alone, cut to the budget.
      std::fill(keep.begin(), keep.end(), false);
      text = fit_prefix(entries[first].text, budget, count);
      if (!text.empty()) keep[first] = true;
    }
  }
  for (bool k : keep) out.kept_lines += k ? 1 : 0;
  out.tokens = count(text);
  out.text = std::move(text);
  return out;
}

}  // namespace ladder
