#include "audit/redact.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cassert>
#include <memory>
#include <string>
#include <vector>

#include <re2/re2.h>
#include <re2/set.h>

#include "ladder/utf8.h"

namespace ladder {
namespace {

struct SecretPattern {
  std::string kind;
  std::unique_ptr<RE2> re;
  std::string rewrite;  // RE2 rewrite string; \1 keeps a captured prefix
};

// Ordered: whole blocks and headers first, then specific token formats, then the
// generic key=value form (which would otherwise swallow a token's kind).
std::vector<SecretPattern> build_patterns() {
  struct Spec {
    const char* kind;
    const char* pattern;
    const char* prefix;  // rewrite prefix, e.g. "\\1" to keep the key name
  };
  const Spec specs[] = {
      {"private_key",
       R"((?s)-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\z))", ""},
      {"authorization", R"((?i)(\bauthorization["']?\s*[:=]\s*)[^\r\n]+)", "\\1"},
      {"basic_auth", R"((\b[a-zA-Z][a-zA-Z0-9+.\-]*://)[^\s/?#@:]+:[^\s/?#@]+@)", "\\1"},
      {"github_token", R"(\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,})", ""},
      {"github_token", R"(\bgithub_pat_[A-Za-z0-9_]{20,})", ""},
      {"gitlab_token", R"(\bglpat-[A-Za-z0-9_\-]{20,})", ""},
      {"slack_token", R"(\bxox[abposr]-[A-Za-z0-9\-]{10,})", ""},
      {"aws_secret", R"((?i)(\baws_secret_access_key["']?\s*[:=]\s*)["']?[A-Za-z0-9/+=]{16,}["']?)", "\\1"},
      {"aws_access_key", R"(\b(?:AKIA|ASIA)[A-Z0-9]{16}\b)", ""},
      {"npm_token", R"(\bnpm_[A-Za-z0-9]{20,})", ""},
      {"api_key", R"(\bsk-(?:ant-|proj-|live-|test-)?[A-Za-z0-9_\-]{20,})", ""},
      {"jwt", R"(\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*)", ""},
      {"bearer", R"((?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*)", "\\1"},
      {"credential",
       R"((?i)(\b[A-Za-z0-9_]*(?:password|passwd|pwd|secret|token|api_key|apikey|api-key|private_key)["']?\s*[:=]\s*)(?:"[^"\r\n]*"|'[^'\r\n]*'|[^\s"'&,;\[][^\s"'&,;]*))",
       "\\1"},
  };
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);  // byte-wise: invalid UTF-8 is fine
  options.set_log_errors(false);
  std::vector<SecretPattern> patterns;
  for (const auto& spec : specs) {
    auto re = std::make_unique<RE2>(spec.pattern, options);
    // The table is static: a pattern that does not compile is a bug (each kind is tested).
    assert(re->ok() && "secret pattern does not compile");
    if (!re->ok()) continue;
    patterns.push_back({spec.kind, std::move(re), std::string(spec.prefix) + "[REDACTED:" + spec.kind + "]"});
  }
  return patterns;
}

// Every pattern in one RE2::Set: one scan tells which patterns occur at all, so clean
// text costs one pass instead of one per pattern.
struct SecretTable {
  std::vector<SecretPattern> patterns;
  std::unique_ptr<RE2::Set> any;  // index i is patterns[i]; null when it did not build

  SecretTable() : patterns(build_patterns()) {
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingLatin1);
    options.set_log_errors(false);
    options.set_max_mem(64 << 20);
    auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
    for (const auto& p : patterns) {
      if (set->Add(p.re->pattern(), nullptr) < 0) return;
    }
    if (set->Compile()) any = std::move(set);
  }

  // Indices of the patterns that match `text` (ascending), or every index when the set
  // cannot answer (not built, or its DFA ran out of memory on this text).
  std::vector<int> matching(std::string_view text) const {
    std::vector<int> hits;
    if (any) {
      RE2::Set::ErrorInfo info{};
      if (any->Match(text, &hits, &info) || info.kind == RE2::Set::kNoError) {
        std::sort(hits.begin(), hits.end());
        return hits;
      }
    }
    hits.resize(patterns.size());
    for (std::size_t i = 0; i < hits.size(); ++i) hits[i] = static_cast<int>(i);
    return hits;
  }
};

const SecretTable& secret_table() {
  static const SecretTable table;
  return table;
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

bool has_secrets(std::string_view text) { return !secret_table().matching(text).empty(); }

std::string redact_secrets(std::string_view text) {
  const SecretTable& table = secret_table();
  std::vector<int> hits = table.matching(text);
  std::string out(text);
  // The patterns run in table order, each only when it matches the text as it is at its
  // turn: after a replacement the set is asked again, so the result is the same as
  // running every pattern in order.
  for (std::size_t h = 0; h < hits.size(); ++h) {
    const int index = hits[h];
    const auto& p = table.patterns[static_cast<std::size_t>(index)];
    if (RE2::GlobalReplace(&out, *p.re, p.rewrite) == 0) continue;
    std::vector<int> now = table.matching(out);
    hits.erase(hits.begin() + static_cast<std::ptrdiff_t>(h) + 1, hits.end());
    for (int later : now) {
      if (later > index) hits.push_back(later);
    }
  }
  return out;
}

std::string redacted_preview(std::string_view text, std::size_t max_chars) {
  const std::string clean = sanitize_utf8(redact_secrets(text));
  std::string out;
  out.reserve(std::min(clean.size(), max_chars * 4));
  std::size_t chars = 0;
  bool pending_space = false;
  std::size_t i = 0;
  while (i < clean.size() && chars < max_chars) {
    if (is_ascii_space(clean[i])) {
      pending_space = !out.empty();
      ++i;
      continue;
    }
    if (pending_space) {
      if (chars + 1 >= max_chars) break;  // no trailing space at the cut
      out.push_back(' ');
      pending_space = false;
      ++chars;
    }
    // Copy one whole code point (the text is valid UTF-8 after sanitize_utf8).
    std::size_t len = 1;
    const auto lead = static_cast<unsigned char>(clean[i]);
    if (lead >= 0xF0)
      len = 4;
    else if (lead >= 0xE0)
      len = 3;
    else if (lead >= 0xC0)
      len = 2;
    out.append(clean, i, len);
    i += len;
    ++chars;
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0F]);
  }
  return out;
}

}  // namespace ladder

namespace ladder {

std::string redacted_match(std::string_view text) {
  const std::string clean = sanitize_utf8(text);
  std::size_t chars = 0;
  std::size_t keep = 0;  // bytes of the first two code points
  for (std::size_t i = 0; i < clean.size(); ++i) {
    if ((static_cast<unsigned char>(clean[i]) & 0xC0) == 0x80) continue;  // continuation byte
    ++chars;
    if (chars == 3) keep = i;
  }
  std::string out = chars > 2 ? clean.substr(0, keep) : std::string();
  out += "\u2026 (" + std::to_string(chars) + " chars)";
  return out;
}

}  // namespace ladder
