// JSON ⇄ domain types for POST /v1/messages, Anthropic's Messages API. Pure: parsing turns
// a body into a request (or a Status naming the offending field in `param`), building
// turns a routed answer into Anthropic's Message and its streamed events.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/backend.h"
#include "ladder/status.h"
#include "policy/gates.h"

namespace ladder::server {

// The request, checked for Anthropic's types: model, max_tokens (required), messages
// (user/assistant turns; content a string or blocks: text, image, document, tool_use in
// assistant turns, tool_result in user turns, thinking, redacted_thinking, and the
// server tools' server_tool_use / web_search_tool_result), system (a string or text
// blocks), stream, temperature (0 to 1), top_p, top_k, stop_sequences, tools (custom
// {name, description?, input_schema} or server tools with a type), tool_choice
// ({type: auto|any|none|tool}), metadata ({user_id}), thinking. Extensions as for chat:
// "ladder": {"task", "privacy", "force_frontier", "tool_chain"}, "ladder_task".
struct MessagesRequest {
  std::string model;
  int max_tokens = 0;
  // The conversation's text: the system prompt first (role "system") when there is one,
  // then each turn's text blocks joined by "\n" (what a ladder task reads).
  std::vector<ChatMessage> messages;
  bool stream = false;
  std::optional<double> temperature;
  std::optional<std::string> task;  // from the extension
  RequestOptions options;
  std::optional<std::string> user_id;  // metadata.user_id, kept in the audit record (scrubbed there)
  // The first content block that is not text ("messages[2].content[0]"), which only a
  // relay carries to the upstream; empty when none. Tools, tool_choice, stop_sequences
  // and the like are passed over by a routed request (a ladder task answers in text).
  std::string relay_field;
  // The body as the client sent it but for ladder's extension fields: what a relay forwards.
  nlohmann::json body;
};

// Failures are kParseError (not JSON) or kInvalidArgument (wrong field, the message
// beginning with the field as `param` names it: "messages[1].content[0].tool_use_id: ...").
Result<MessagesRequest> parse_messages_request(std::string_view body, std::string* param);

// A routed answer in Anthropic's Message shape.
struct MessageAnswer {
  std::string id;     // msg_...
  std::string model;  // as the client asked
  std::string text;
  std::string stop_reason = "end_turn";  // or "max_tokens"
  int input_tokens = 0;
  int output_tokens = 0;
  nlohmann::json ladder;  // the decision extension; omitted when null
};

// {"id", "type": "message", "role": "assistant", "model", "content": [{"type": "text",
// "text"}], "stop_reason", "stop_sequence": null, "usage": {input_tokens, output_tokens},
// "ladder"?}.
nlohmann::json message_json(const MessageAnswer& answer);

// The streamed form, as server-sent events: message_start (the message with empty
// content) and content_block_start of the one text block; then one content_block_delta
// (text_delta) per piece; then content_block_stop, message_delta (stop_reason, usage,
// and the "ladder" extension) and message_stop.
std::string message_stream_start(const MessageAnswer& base);
std::string message_stream_delta(std::string_view text);
std::string message_stream_end(const MessageAnswer& answer);

}  // namespace ladder::server
