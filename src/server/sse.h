// Server-sent events framing. Streamed chat completions (OpenAI's wire format): each
// event is "data: <one-line JSON>\n\n"; the stream ends with "data: [DONE]\n\n", or,
// after a failure mid-stream, with one error event and no [DONE]. Anthropic's Messages
// API names each event: "event: <name>\ndata: <one-line JSON>\n\n".
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ladder::server {

std::string sse_event(const nlohmann::json& data);
std::string sse_event(std::string_view name, const nlohmann::json& data);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

}  // namespace ladder::server
