#include "server/anthropic_api.h"

#include <set>

#include "server/openai_api.h"
#include "server/sse.h"

namespace ladder::server {
namespace {

using nlohmann::json;

// Anthropic bounds metadata.user_id at 256 characters.
constexpr std::size_t kMaxUserIdBytes = 256;

Status bad(std::string* param, const std::string& field, const std::string& message) {
  if (param) *param = field;
  return make_error(ErrorCode::kInvalidArgument, field + ": " + message);
}

bool is_name(const json& v) { return v.is_string() && !v.get_ref<const std::string&>().empty(); }
bool has(const json& o, const char* key) { return o.contains(key) && !o[key].is_null(); }
bool is_number_in(const json& v, double lo, double hi) {
  return v.is_number() && v.get<double>() >= lo && v.get<double>() <= hi;
}

// {"type": "base64"|"url"|"file"|"text"|"content", ...}: the source of an image or a
// document, passed on as it is.
Status check_source(const json& block, const std::string& where, std::string* param) {
  if (!block.contains("source") || !block["source"].is_object() || !block["source"].contains("type") ||
      !block["source"]["type"].is_string())
    return bad(param, where + ".source", "expected an object with a type");
  return {};
}

Status check_text_block(const json& block, const std::string& where, std::string* param) {
  if (!block.contains("text") || !block["text"].is_string()) return bad(param, where + ".text", "expected a string");
  return {};
}

// tool_result.content: a string or blocks of text, image, document or search_result.
Status check_tool_result_content(const json& content, const std::string& where, std::string* param) {
  if (content.is_string()) return {};
  if (!content.is_array()) return bad(param, where, "expected a string or an array of content blocks");
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& b = content[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!b.is_object() || !b.contains("type") || !b["type"].is_string())
      return bad(param, at, "expected a content block with a type");
    const std::string type = b["type"].get<std::string>();
    Status s;
    if (type == "text") {
      s = check_text_block(b, at, param);
    } else if (type == "image" || type == "document") {
      s = check_source(b, at, param);
    } else if (type != "search_result") {
      return bad(param, at + ".type", "unknown block type '" + type + "' in a tool result");
    }
    if (!s.ok()) return s;
  }
  return {};
}

// One content block of a turn of `role`; its text (text blocks) goes to `text`.
Status check_block(const json& b, const std::string& role, const std::string& where, std::string& text,
                   std::string& relay_field, std::string* param) {
  if (!b.is_object() || !b.contains("type") || !b["type"].is_string())
    return bad(param, where, "expected a content block with a type");
  const std::string type = b["type"].get<std::string>();
  if (type == "text") {
    if (Status s = check_text_block(b, where, param); !s.ok()) return s;
    if (!text.empty()) text += "\n";
    text += b["text"].get<std::string>();
    return {};
  }
  Status s;
  if (type == "image" || type == "document") {
    s = check_source(b, where, param);
  } else if (type == "tool_use" || type == "server_tool_use") {
    if (role != "assistant") return bad(param, where + ".type", "a " + type + " block belongs in an assistant turn");
    if (!has(b, "id") || !is_name(b["id"])) return bad(param, where + ".id", "expected a non-empty string");
    if (!has(b, "name") || !is_name(b["name"])) return bad(param, where + ".name", "expected a non-empty string");
    if (!b.contains("input") || !b["input"].is_object()) return bad(param, where + ".input", "expected an object");
  } else if (type == "tool_result" || type == "web_search_tool_result") {
    if (type == "tool_result" && role != "user")
      return bad(param, where + ".type", "a tool_result block belongs in a user turn");
    if (!has(b, "tool_use_id") || !is_name(b["tool_use_id"]))
      return bad(param, where + ".tool_use_id", "expected the non-empty id of the tool_use this block answers");
    if (type == "tool_result" && has(b, "content"))
      s = check_tool_result_content(b["content"], where + ".content", param);
    if (s.ok() && has(b, "is_error") && !b["is_error"].is_boolean())
      return bad(param, where + ".is_error", "expected a boolean");
  } else if (type == "thinking") {
    if (role != "assistant") return bad(param, where + ".type", "a thinking block belongs in an assistant turn");
    if (!b.contains("thinking") || !b["thinking"].is_string())
      return bad(param, where + ".thinking", "expected a string");
    if (has(b, "signature") && !b["signature"].is_string())
      return bad(param, where + ".signature", "expected a string");
  } else if (type == "redacted_thinking") {
    if (role != "assistant")
      return bad(param, where + ".type", "a redacted_thinking block belongs in an assistant turn");
    if (!b.contains("data") || !b["data"].is_string()) return bad(param, where + ".data", "expected a string");
  } else {
    return bad(param, where + ".type", "unknown content block type '" + type + "'");
  }
  if (!s.ok()) return s;
  if (relay_field.empty()) relay_field = where;
  return {};
}

Status read_messages(const json& messages, MessagesRequest& r, std::string* param) {
  if (!messages.is_array() || messages.empty()) return bad(param, "messages", "expected a non-empty array");
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return bad(param, where, "expected an object");
    if (!m.contains("role") || !m["role"].is_string()) return bad(param, where + ".role", "expected a string");
    const std::string role = m["role"].get<std::string>();
    if (role != "user" && role != "assistant")
      return bad(param, where + ".role", "expected \"user\" or \"assistant\" (the system prompt goes to `system`)");
    if (!m.contains("content")) return bad(param, where + ".content", "required");
    const json& content = m["content"];
    std::string text;
    if (content.is_string()) {
      text = content.get<std::string>();
    } else if (content.is_array()) {
      for (std::size_t k = 0; k < content.size(); ++k) {
        Status s =
            check_block(content[k], role, where + ".content[" + std::to_string(k) + "]", text, r.relay_field, param);
        if (!s.ok()) return s;
      }
    } else {
      return bad(param, where + ".content", "expected a string or an array of content blocks");
    }
    r.messages.push_back({role, std::move(text)});
  }
  return {};
}

// system: a string or an array of text blocks; its text is the first message (role system).
Status read_system(const json& system, MessagesRequest& r, std::string* param) {
  std::string text;
  if (system.is_string()) {
    text = system.get<std::string>();
  } else if (system.is_array()) {
    for (std::size_t i = 0; i < system.size(); ++i) {
      const json& b = system[i];
      const std::string where = "system[" + std::to_string(i) + "]";
      if (!b.is_object() || !b.contains("type") || b["type"] != "text")
        return bad(param, where, "expected a text block {\"type\": \"text\", \"text\": ...}");
      if (Status s = check_text_block(b, where, param); !s.ok()) return s;
      if (!text.empty()) text += "\n";
      text += b["text"].get<std::string>();
    }
  } else {
    return bad(param, "system", "expected a string or an array of text blocks");
  }
  if (!text.empty()) r.messages.insert(r.messages.begin(), ChatMessage{"system", std::move(text)});
  return {};
}

// tools: custom tools {name, description?, input_schema} (type absent or "custom") or
// server tools {type: "web_search_20250305", name, ...}, checked for their name only.
Status check_tools(const json& tools, std::string* param) {
  if (!tools.is_array()) return bad(param, "tools", "expected an array of tools");
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string where = "tools[" + std::to_string(i) + "]";
    if (!t.is_object()) return bad(param, where, "expected an object");
    if (has(t, "type") && !t["type"].is_string()) return bad(param, where + ".type", "expected a string");
    if (!has(t, "name") || !is_name(t["name"])) return bad(param, where + ".name", "expected a non-empty string");
    const bool custom = !has(t, "type") || t["type"] == "custom";
    if (!custom) continue;
    if (has(t, "description") && !t["description"].is_string())
      return bad(param, where + ".description", "expected a string");
    if (!t.contains("input_schema") || !t["input_schema"].is_object())
      return bad(param, where + ".input_schema", "expected a JSON Schema object");
  }
  return {};
}

// tool_choice: {"type": "auto"|"any"|"none"} or {"type": "tool", "name"}, with
// disable_parallel_tool_use (a boolean) optional.
Status check_tool_choice(const json& c, std::string* param) {
  static const std::set<std::string> kTypes = {"auto", "any", "none", "tool"};
  if (!c.is_object() || !c.contains("type") || !c["type"].is_string() || !kTypes.count(c["type"].get<std::string>()))
    return bad(param, "tool_choice", "expected {\"type\": \"auto\"|\"any\"|\"none\"|\"tool\"}");
  if (c["type"] == "tool" && (!c.contains("name") || !is_name(c["name"])))
    return bad(param, "tool_choice.name", "expected the name of a tool");
  if (has(c, "disable_parallel_tool_use") && !c["disable_parallel_tool_use"].is_boolean())
    return bad(param, "tool_choice.disable_parallel_tool_use", "expected a boolean");
  return {};
}

// The sampling and the fields ladder passes on without reading.
Status check_other_fields(const json& j, std::string* param) {
  if (has(j, "top_p") && !is_number_in(j["top_p"], 0.0, 1.0))
    return bad(param, "top_p", "expected a number from 0 to 1");
  if (has(j, "top_k") && (!j["top_k"].is_number_integer() || j["top_k"].get<long long>() < 0))
    return bad(param, "top_k", "expected a non-negative integer");
  if (has(j, "stop_sequences")) {
    bool ok = j["stop_sequences"].is_array();
    if (ok)
      for (const auto& s : j["stop_sequences"]) ok = ok && s.is_string();
    if (!ok) return bad(param, "stop_sequences", "expected an array of strings");
  }
  if (has(j, "tools"))
    if (Status s = check_tools(j["tools"], param); !s.ok()) return s;
  if (has(j, "tool_choice"))
    if (Status s = check_tool_choice(j["tool_choice"], param); !s.ok()) return s;
  if (has(j, "thinking") && (!j["thinking"].is_object() || !j["thinking"].contains("type")))
    return bad(param, "thinking", "expected an object with a type");
  return {};
}

Status read_metadata(const json& m, MessagesRequest& r, std::string* param) {
  if (!m.is_object()) return bad(param, "metadata", "expected an object");
  for (const auto& [key, value] : m.items()) {
    if (key != "user_id") return bad(param, "metadata." + key, "unknown field (metadata has user_id only)");
    if (value.is_null()) continue;
    if (!value.is_string() || value.get_ref<const std::string&>().size() > kMaxUserIdBytes)
      return bad(param, "metadata.user_id",
                 "expected a string of at most " + std::to_string(kMaxUserIdBytes) + " bytes");
    r.user_id = value.get<std::string>();
  }
  return {};
}

}  // namespace

Result<MessagesRequest> parse_messages_request(std::string_view body, std::string* param) {
  auto parsed = parse_json_object(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  MessagesRequest r;
  if (!j.contains("model")) return bad(param, "model", "required");
  if (!is_name(j["model"])) return bad(param, "model", "expected a non-empty string");
  r.model = j["model"].get<std::string>();
  if (auto task = task_from_model(r.model))
    if (Status s = check_task_name(*task, "model", param); !s.ok()) return s;
  if (!j.contains("max_tokens")) return bad(param, "max_tokens", "required");
  if (!j["max_tokens"].is_number_integer() || j["max_tokens"].get<long long>() < 1 ||
      j["max_tokens"].get<long long>() > 1000000)
    return bad(param, "max_tokens", "expected a positive integer");
  r.max_tokens = j["max_tokens"].get<int>();
  if (!j.contains("messages")) return bad(param, "messages", "required");
  if (Status s = read_messages(j["messages"], r, param); !s.ok()) return s;
  if (has(j, "system"))
    if (Status s = read_system(j["system"], r, param); !s.ok()) return s;
  if (has(j, "stream")) {
    if (!j["stream"].is_boolean()) return bad(param, "stream", "expected a boolean");
    r.stream = j["stream"].get<bool>();
  }
  if (has(j, "temperature")) {
    if (!is_number_in(j["temperature"], 0.0, 1.0)) return bad(param, "temperature", "expected a number from 0 to 1");
    r.temperature = j["temperature"].get<double>();
  }
  if (Status s = check_other_fields(j, param); !s.ok()) return s;
  if (has(j, "metadata"))
    if (Status s = read_metadata(j["metadata"], r, param); !s.ok()) return s;
  if (Status s = read_ladder_extension(j, r.task, r.options, param); !s.ok()) return s;
  r.body = std::move(parsed).value();
  r.body.erase("ladder");  // ladder's own extension fields never reach an upstream
  r.body.erase("ladder_task");
  return r;
}

json message_json(const MessageAnswer& a) {
  json j = {{"id", a.id},
            {"type", "message"},
            {"role", "assistant"},
            {"model", a.model},
            {"content", json::array({{{"type", "text"}, {"text", a.text}}})},
            {"stop_reason", a.stop_reason},
            {"stop_sequence", nullptr},
            {"usage", {{"input_tokens", a.input_tokens}, {"output_tokens", a.output_tokens}}}};
  if (!a.ladder.is_null()) j["ladder"] = a.ladder;
  return j;
}

std::string message_stream_start(const MessageAnswer& base) {
  json message = message_json(base);
  message["content"] = json::array();
  message["stop_reason"] = nullptr;
  message.erase("ladder");
  return sse_event("message_start", {{"type", "message_start"}, {"message", message}}) +
         sse_event(
             "content_block_start",
             {{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}});
}

std::string message_stream_delta(std::string_view text) {
  return sse_event("content_block_delta", {{"type", "content_block_delta"},
                                           {"index", 0},
                                           {"delta", {{"type", "text_delta"}, {"text", std::string(text)}}}});
}

std::string message_stream_end(const MessageAnswer& a) {
  json delta = {{"type", "message_delta"},
                {"delta", {{"stop_reason", a.stop_reason}, {"stop_sequence", nullptr}}},
                {"usage", {{"input_tokens", a.input_tokens}, {"output_tokens", a.output_tokens}}}};
  if (!a.ladder.is_null()) delta["ladder"] = a.ladder;
  return sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}) +
         sse_event("message_delta", delta) + sse_event("message_stop", {{"type", "message_stop"}});
}

}  // namespace ladder::server
