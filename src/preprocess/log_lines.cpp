#include "preprocess/log_lines.h"

#include <cctype>

#include <re2/re2.h>

namespace ladder {
namespace {

struct Patterns {
  RE2 ansi{R"((?:\x1b\[[0-9;?]*[ -/]*[@-~])|(?:\x1b\][^\x07\x1b]*(?:\x07|\x1b\\))|(?:\x1b[()][A-Za-z0-9]))"};
  // Leading timestamps, possibly several (a GitHub Actions stamp before a tool's own).
  RE2 timestamp{
      R"(^\s*(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?|\[\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\]|\d{2}:\d{2}:\d{2}[.,]\d+|\d{2}:\d{2}:\d{2}\s)\s*)"};
  RE2 gha_error{R"(^##\[error\]\s*)"};
  RE2 gha_warning{R"(^##\[warning\]\s*)"};
  RE2 gha_other{R"(^##\[(?:group|endgroup|command|section|debug|notice|info)\]\s*)"};
  RE2 gha_cmd_error{R"(^::error(?:\s[^:]*)?::\s*)"};
  RE2 gha_cmd_warning{R"(^::warning(?:\s[^:]*)?::\s*)"};
  RE2 gha_cmd_other{R"(^::(?:group|endgroup|debug|notice|add-mask|set-output|stop-commands)[^:]*::\s*)"};
  RE2 maven_error{R"(^\[(?:ERROR|FATAL)\]\s?)"};
  RE2 maven_warning{R"(^\[(?:WARNING|WARN)\]\s?)"};
  RE2 maven_info{R"(^\[(?:INFO|DEBUG)\]\s?)"};
  RE2 digits{R"(\d+)"};
  RE2 hex{R"(\b[0-9a-f]{7,}\b)"};
  RE2 quoted{R"('[^']*'|"[^"]*")"};
  RE2 spaces{R"(\s+)"};
  RE2 decisive{
      R"((?i)(\berr(or)?s?\b|\berror[:\[(]|\bfail(ed|ure|ures|ing|s)?\b|\bexception\b|\w+(error|exception)\b|\bpanic(ked)?\b|\bfatal\b|traceback|\bassert(ion)?\w*|\bundefined reference\b|\bundeclared\b|\bcannot\b|\bcan't\b|\bcould not\b|\bunable to\b|\bnot found\b|\bno such file\b|\bno matching\b|\bdenied\b|\bunauthori[sz]ed\b|\bforbidden\b|\btimed? ?out\b|\bsegmentation fault\b|\bcore dumped\b|\bkilled\b|\bout of memory\b|\bexit(ed)? (with )?(code|status) [1-9]|\breturned (a )?non-zero|\bexit code [1-9]|npm err!|\bERR!|\bbroken\b|\bconflict\b|\bunresolved\b|\bmissing\b|\bexpected\b.*\b(but|received|got|found)\b|^\s*E\s{2,}|^\s*[✗✕×✖]|\bFAILED\b))"};
  RE2 zero_count{
      R"((?i)(^|[^\w])(0|no) (errors?|failures?|failed|warnings?)\b|\b(errors?|failures?|failed): 0\b|\bfailures: 0, errors: 0\b)"};
  RE2 nonzero_count{R"((?i)\b[1-9]\d* (errors?|failures?|failed)\b|\b(errors?|failures?|failed): [1-9])"};
  RE2 word_char{R"([\p{L}\p{N}])"};
};

const Patterns& patterns() {
  static const Patterns p;
  return p;
}

bool consume(std::string& s, const RE2& pattern) {
  re2::StringPiece in(s);
  if (!RE2::Consume(&in, pattern)) return false;
  s.erase(0, s.size() - in.size());
  return true;
}

}  // namespace

std::string clean_log_line(std::string_view line) {
  const Patterns& p = patterns();
  std::string s(line);
  // A carriage return redraws the line: what the terminal showed last is kept.
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  if (auto cr = s.rfind('\r'); cr != std::string::npos) s.erase(0, cr + 1);
  RE2::GlobalReplace(&s, p.ansi, "");
  for (int i = 0; i < 3 && consume(s, p.timestamp); ++i) {
  }
  if (consume(s, p.gha_error) || consume(s, p.gha_cmd_error) || consume(s, p.maven_error)) {
    s.insert(0, "error: ");
  } else if (consume(s, p.gha_warning) || consume(s, p.gha_cmd_warning) || consume(s, p.maven_warning)) {
    s.insert(0, "warning: ");
  } else {
    consume(s, p.gha_other) || consume(s, p.gha_cmd_other) || consume(s, p.maven_info);
  }
  for (int i = 0; i < 2 && consume(s, p.timestamp); ++i) {
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

bool blank_log_line(std::string_view cleaned) { return !RE2::PartialMatch(cleaned, patterns().word_char); }

std::string log_line_key(std::string_view cleaned) {
  const Patterns& p = patterns();
  std::string s(cleaned);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  RE2::GlobalReplace(&s, p.quoted, "'_'");
  RE2::GlobalReplace(&s, p.hex, "#");
  RE2::GlobalReplace(&s, p.digits, "#");
  RE2::GlobalReplace(&s, p.spaces, " ");
  return s;
}

std::string log_line_family(std::string_view key) {
  std::size_t pos = key.find_first_not_of(' ');
  for (int words = 0; words < 2 && pos != std::string_view::npos; ++words) {
    pos = key.find(' ', pos);
    if (pos == std::string_view::npos) break;
    pos = key.find_first_not_of(' ', pos);
  }
  return std::string(pos == std::string_view::npos ? key : key.substr(0, pos));
}

bool decisive_log_line(std::string_view cleaned) {
  const Patterns& p = patterns();
  if (!RE2::PartialMatch(cleaned, p.decisive)) return false;
  if (RE2::PartialMatch(cleaned, p.zero_count) && !RE2::PartialMatch(cleaned, p.nonzero_count)) return false;
  return true;
}

}  // namespace ladder
