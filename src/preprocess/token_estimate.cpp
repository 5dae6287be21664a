#include "preprocess/token_estimate.h"

namespace ladder {

int estimate_tokens(std::string_view text) {
  int tokens = 0;
  std::size_t run = 0;
  auto end_run = [&] {
    if (run > 0) tokens += static_cast<int>((run + 3) / 4);
    run = 0;
  };
  for (unsigned char c : text) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum) {
      ++run;
      continue;
    }
    end_run();
    if (c == '\n') {
      ++tokens;
    } else if (c < 0x80) {
      if (c != ' ' && c != '\t' && c != '\r') ++tokens;
    } else if ((c & 0xC0) != 0x80) {
      ++tokens;  // lead byte of a code point
    }
  }
  end_run();
  return tokens;
}

}  // namespace ladder
