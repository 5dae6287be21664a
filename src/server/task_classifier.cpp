#include "server/task_classifier.h"

#include <cctype>
#include <map>
#include <set>

namespace ladder::server {
namespace {

const std::set<std::string, std::less<>>& stop_words() {
  static const std::set<std::string, std::less<>> kWords = {
      "the",  "and",   "for",   "with", "this", "that",  "from", "into", "what", "why",  "how",   "its",   "are",
      "was",  "were",  "not",   "but",  "all",  "any",   "one",  "two",  "has",  "have", "had",   "can",   "could",
      "does", "did",   "you",   "your", "our",  "their", "they", "them", "then", "than", "when",  "which", "who",
      "will", "would", "there", "here", "each", "only",  "too",  "very", "just", "also", "about", "always"};
  return kWords;
}

std::set<std::string> words(std::string_view text) {
  std::set<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (cur.size() >= 3 && !stop_words().count(cur)) out.insert(cur);
    cur.clear();
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

}  // namespace

std::string classify_task(const Config& config, std::string_view input) {
  const std::set<std::string> in = words(input);
  std::string best;
  int best_score = 0, runner_up = 0;
  for (const auto& [name, task] : config.tasks) {
    std::map<std::string, int> vocab;
    std::string head = name + " " + task.description;
    for (const auto& l : task.labels) head += " " + l;
    for (const auto& w : words(head)) vocab[w] = 2;
    for (const auto& ex : task.examples)
      for (const auto& w : words(ex.input)) vocab.emplace(w, 1);
    int score = 0;
    for (const auto& w : in) {
      auto it = vocab.find(w);
      if (it != vocab.end()) score += it->second;
    }
    if (score > best_score) {
      runner_up = best_score;
      best_score = score;
      best = name;
    } else if (score > runner_up) {
      runner_up = score;
    }
  }
  if (best_score < kMinTaskScore || best_score == runner_up) return "";
  return best;
}

}  // namespace ladder::server
