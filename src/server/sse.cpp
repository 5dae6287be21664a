#include "server/sse.h"

namespace ladder::server {

std::string sse_event(const nlohmann::json& data) {
  // dump() escapes control characters, so the JSON never spans two lines.
  return "data: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

std::string sse_event(std::string_view name, const nlohmann::json& data) {
  return "event: " + std::string(name) + "\n" + sse_event(data);
}

}  // namespace ladder::server
