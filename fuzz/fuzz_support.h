// Shared by the libFuzzer targets: the input as text, a deterministic way to cut it into
// pieces (how a network hands a body over), and a check that aborts, so that a broken
// property is a crash libFuzzer keeps like any other.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace ladder::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Cuts `text` into pieces whose lengths follow a sequence drawn from the text itself, so
// one input always gives the same cut and different inputs cut at different places
// (inside "\r\n", inside a UTF-8 sequence, one byte at a time).
inline std::vector<std::string> cut(std::string_view text) {
  std::uint32_t state = 2166136261u;
  for (char c : text) state = (state ^ static_cast<unsigned char>(c)) * 16777619u;
  std::vector<std::string> pieces;
  while (!text.empty()) {
    state = state * 1103515245u + 12345u;
    const std::size_t n = 1 + (state >> 16) % 17;
    pieces.emplace_back(text.substr(0, n));
    text.remove_prefix(std::min(n, text.size()));
  }
  return pieces;
}

[[noreturn]] inline void check_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
  std::abort();
}

}  // namespace ladder::fuzz

// A property of the parser's answer that must hold for every input.
#define LADDER_FUZZ_CHECK(cond) ((cond) ? (void)0 : ::ladder::fuzz::check_failed(#cond, __FILE__, __LINE__))
