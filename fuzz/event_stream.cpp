// Streamed bodies (src/backends/http/event_stream.h): bytes → lines (NDJSON and SSE
// framing) → Server-Sent Events. The body is fed whole and cut into pieces the way a
// network delivers it; both must give the same lines and the same events.
#include <string>
#include <vector>

#include "backends/http/event_stream.h"
#include "fuzz_support.h"

namespace {

using ladder::http::LineSplitter;
using ladder::http::SseDecoder;
using ladder::http::SseEvent;

struct Decoded {
  std::vector<std::string> lines;
  std::vector<SseEvent> events;
  std::size_t not_sse = 0;
};

Decoded decode(const std::vector<std::string>& pieces) {
  Decoded out;
  LineSplitter splitter;
  SseDecoder sse;
  auto on_line = [&](std::string_view line) {
    LADDER_FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    out.lines.emplace_back(line);
    if (auto event = sse.line(line)) {
      LADDER_FUZZ_CHECK(!event->event.empty());
      out.events.push_back(std::move(*event));
    }
    if (sse.not_sse()) ++out.not_sse;
    return true;
  };
  for (const auto& piece : pieces) LADDER_FUZZ_CHECK(splitter.feed(piece, on_line));
  splitter.finish(on_line);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = ladder::fuzz::as_text(data, size);
  const Decoded whole = decode({std::string(body)});
  const Decoded cut = decode(ladder::fuzz::cut(body));
  LADDER_FUZZ_CHECK(whole.lines == cut.lines);
  LADDER_FUZZ_CHECK(whole.not_sse == cut.not_sse);
  LADDER_FUZZ_CHECK(whole.events.size() == cut.events.size());
  for (std::size_t i = 0; i < whole.events.size(); ++i) {
    LADDER_FUZZ_CHECK(whole.events[i].event == cut.events[i].event && whole.events[i].data == cut.events[i].data);
  }
  std::size_t bytes = 0;
  for (const auto& line : whole.lines) bytes += line.size() + 1;
  LADDER_FUZZ_CHECK(bytes <= body.size() + 1);

  // Stopping early: feed() returns false as soon as on_line does, and keeps no line.
  LineSplitter splitter;
  std::size_t seen = 0;
  const bool went_on = splitter.feed(body, [&](std::string_view) { return ++seen < 2; });
  LADDER_FUZZ_CHECK(went_on == (seen < 2));
  return 0;
}
