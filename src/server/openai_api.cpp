#include "server/openai_api.h"

#include <algorithm>
#include <limits>
#include <set>

#include "router/decision_json.h"

namespace ladder::server {
namespace {

using nlohmann::json;

// OpenAI's content part types besides "text".
const std::set<std::string> kKnownPartTypes = {"image_url", "input_audio", "file", "refusal"};

Status bad(std::string* param, std::string field, const std::string& message) {
  if (param) *param = field;
  return make_error(ErrorCode::kInvalidArgument, field + ": " + message);
}

Result<json> parse_object(std::string_view body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number past a double (1e400)
    return make_error(ErrorCode::kParseError, std::string("request body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return make_error(ErrorCode::kInvalidArgument, "request body must be a JSON object");
  return j;
}

// Message content: a string, null, or an array of {"type": "text", "text": "..."} parts.
// The text of a message's content. A known part of another kind (an image, audio, a
// file) is passed over and named in `relay_field` (when still empty): only a relayed
// request carries it to the upstream.
Result<std::string> content_text(const json& content, const std::string& field, std::string* param,
                                 std::string& relay_field) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) return bad(param, field, "expected a string or an array of content parts");
  std::string text;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string where = field + "[" + std::to_string(i) + "]";
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return bad(param, where, "expected a content part with a type");
    const std::string type = part["type"].get<std::string>();
    if (type != "text" && !kKnownPartTypes.count(type))
      return bad(param, where + ".type", "unknown content part type '" + type + "'");
    if (type != "text") {
      if (relay_field.empty()) relay_field = where;
      continue;
    }
    if (!part.contains("text") || !part["text"].is_string()) return bad(param, where + ".text", "expected a string");
    if (!text.empty()) text += "\n";
    text += part["text"].get<std::string>();
  }
  return text;
}

bool is_name(const json& v) { return v.is_string() && !v.get_ref<const std::string&>().empty(); }

// tools: [{"type": "function", "function": {"name", "description"?, "parameters"?, "strict"?}}].
Status check_tools(const json& tools, std::string* param) {
  if (!tools.is_array()) return bad(param, "tools", "expected an array of tools");
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string where = "tools[" + std::to_string(i) + "]";
    if (!t.is_object()) return bad(param, where, "expected an object");
    if (!t.contains("type") || t["type"] != "function") return bad(param, where + ".type", "expected \"function\"");
    if (!t.contains("function") || !t["function"].is_object())
      return bad(param, where + ".function", "expected an object");
    const json& f = t["function"];
    if (!f.contains("name") || !is_name(f["name"]))
      return bad(param, where + ".function.name", "expected a non-empty string");
    if (f.contains("description") && !f["description"].is_string())
      return bad(param, where + ".function.description", "expected a string");
    if (f.contains("parameters") && !f["parameters"].is_object())
      return bad(param, where + ".function.parameters", "expected a JSON Schema object");
    if (f.contains("strict") && !f["strict"].is_boolean() && !f["strict"].is_null())
      return bad(param, where + ".function.strict", "expected a boolean");
  }
  return {};
}

// tool_choice: "none" | "auto" | "required" | {"type": "function", "function": {"name"}}.
Status check_tool_choice(const json& c, std::string* param) {
  if (c.is_string()) {
    const auto& s = c.get_ref<const std::string&>();
    if (s == "none" || s == "auto" || s == "required") return {};
    return bad(param, "tool_choice", "expected \"none\", \"auto\", \"required\" or a function choice");
  }
  if (!c.is_object() || !c.contains("type") || c["type"] != "function" || !c.contains("function") ||
      !c["function"].is_object() || !c["function"].contains("name") || !is_name(c["function"]["name"]))
    return bad(param, "tool_choice", "expected {\"type\": \"function\", \"function\": {\"name\": ...}}");
  return {};
}

// An assistant message's tool_calls: [{"id", "type": "function", "function": {"name", "arguments"}}].
Status check_tool_calls(const json& calls, const std::string& field, std::string* param) {
  if (!calls.is_array()) return bad(param, field, "expected an array of tool calls");
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const json& c = calls[i];
    const std::string where = field + "[" + std::to_string(i) + "]";
    if (!c.is_object()) return bad(param, where, "expected an object");
    if (!c.contains("id") || !is_name(c["id"])) return bad(param, where + ".id", "expected a non-empty string");
    if (c.contains("type") && c["type"] != "function") return bad(param, where + ".type", "expected \"function\"");
    if (!c.contains("function") || !c["function"].is_object())
      return bad(param, where + ".function", "expected an object");
    if (!c["function"].contains("name") || !is_name(c["function"]["name"]))
      return bad(param, where + ".function.name", "expected a non-empty string");
    if (!c["function"].contains("arguments") || !c["function"]["arguments"].is_string())
      return bad(param, where + ".function.arguments", "expected a string (JSON text)");
  }
  return {};
}

// The request fields ladder does not interpret, checked for their OpenAI types.
Status check_passthrough_fields(const json& j, std::string* param) {
  if (j.contains("tools") && !j["tools"].is_null()) {
    Status s = check_tools(j["tools"], param);
    if (!s.ok()) return s;
  }
  if (j.contains("tool_choice") && !j["tool_choice"].is_null()) {
    Status s = check_tool_choice(j["tool_choice"], param);
    if (!s.ok()) return s;
  }
  if (j.contains("parallel_tool_calls") && !j["parallel_tool_calls"].is_boolean() &&
      !j["parallel_tool_calls"].is_null())
    return bad(param, "parallel_tool_calls", "expected a boolean");
  if (j.contains("response_format") && !j["response_format"].is_null()) {
    const json& f = j["response_format"];
    if (!f.is_object() || !f.contains("type") || !f["type"].is_string())
      return bad(param, "response_format", "expected an object with a type");
    const auto& type = f["type"].get_ref<const std::string&>();
    if (type != "text" && type != "json_object" && type != "json_schema")
      return bad(param, "response_format.type", "expected \"text\", \"json_object\" or \"json_schema\"");
    if (type == "json_schema" && (!f.contains("json_schema") || !f["json_schema"].is_object()))
      return bad(param, "response_format.json_schema", "expected an object");
  }
  if (j.contains("stop") && !j["stop"].is_null()) {
    const json& stop = j["stop"];
    bool ok = stop.is_string() || stop.is_array();
    if (stop.is_array())
      for (const auto& s : stop) ok = ok && s.is_string();
    if (!ok) return bad(param, "stop", "expected a string or an array of strings");
  }
  if (j.contains("seed") && !j["seed"].is_null() && !j["seed"].is_number_integer())
    return bad(param, "seed", "expected an integer");
  if (j.contains("top_p") && !j["top_p"].is_null() &&
      (!j["top_p"].is_number() || j["top_p"].get<double>() < 0.0 || j["top_p"].get<double>() > 1.0))
    return bad(param, "top_p", "expected a number from 0 to 1");
  if (j.contains("logprobs") && !j["logprobs"].is_null() && !j["logprobs"].is_boolean())
    return bad(param, "logprobs", "expected a boolean");
  if (j.contains("user") && !j["user"].is_null() && !j["user"].is_string())
    return bad(param, "user", "expected a string");
  if (j.contains("metadata") && !j["metadata"].is_null() && !j["metadata"].is_object())
    return bad(param, "metadata", "expected an object");
  if (j.contains("stream_options") && !j["stream_options"].is_null() && !j["stream_options"].is_object())
    return bad(param, "stream_options", "expected an object");
  return {};
}

Status read_options(const json& j, const std::string& prefix, RequestOptions& options, std::string* param) {
  if (j.contains("privacy")) {
    if (!j["privacy"].is_boolean()) return bad(param, prefix + "privacy", "expected a boolean");
    options.privacy = j["privacy"].get<bool>();
  }
  if (j.contains("force_frontier")) {
    if (!j["force_frontier"].is_boolean()) return bad(param, prefix + "force_frontier", "expected a boolean");
    options.force_frontier = j["force_frontier"].get<bool>();
  }
  if (j.contains("tool_chain")) {
    if (!j["tool_chain"].is_number_integer() || j["tool_chain"].get<long long>() < 0 ||
        j["tool_chain"].get<long long>() > 1000000)
      return bad(param, prefix + "tool_chain", "expected a non-negative integer");
    options.tool_chain_length = j["tool_chain"].get<int>();
  }
  return {};
}

}  // namespace

Result<nlohmann::json> parse_json_object(std::string_view body) { return parse_object(body); }

Result<ChatCompletionRequest> parse_chat_request(std::string_view body, std::string* param) {
  auto parsed = parse_object(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  ChatCompletionRequest r;
  if (!j.contains("model")) return bad(param, "model", "required");
  if (!j["model"].is_string() || j["model"].get<std::string>().empty())
    return bad(param, "model", "expected a non-empty string");
  r.model = j["model"].get<std::string>();
  if (!j.contains("messages")) return bad(param, "messages", "required");
  if (!j["messages"].is_array() || j["messages"].empty()) return bad(param, "messages", "expected a non-empty array");
  for (std::size_t i = 0; i < j["messages"].size(); ++i) {
    const json& m = j["messages"][i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return bad(param, where, "expected an object");
    if (!m.contains("role") || !m["role"].is_string()) return bad(param, where + ".role", "expected a string");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "developer" && role != "tool")
      return bad(param, where + ".role", "unknown role '" + role + "'");
    if (role == "tool" && (!m.contains("tool_call_id") || !is_name(m["tool_call_id"])))
      return bad(param, where + ".tool_call_id", "a tool message needs the id of the call it answers");
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (role != "assistant") return bad(param, where + ".tool_calls", "only assistant messages carry tool calls");
      Status s = check_tool_calls(m["tool_calls"], where + ".tool_calls", param);
      if (!s.ok()) return s;
    }
    if (r.relay_field.empty() && role == "tool") r.relay_field = where;
    if (r.relay_field.empty() && m.contains("tool_calls") && !m["tool_calls"].is_null())
      r.relay_field = where + ".tool_calls";
    auto text = content_text(m.contains("content") ? m["content"] : json(), where + ".content", param, r.relay_field);
    if (!text.ok()) return text.status();
    r.messages.push_back({role == "developer" ? "system" : role, std::move(text).value()});
  }
  if (Status s = check_passthrough_fields(j, param); !s.ok()) return s;
  for (const char* key : {"tools", "tool_choice", "parallel_tool_calls", "response_format"})
    if (r.relay_field.empty() && j.contains(key) && !j[key].is_null()) r.relay_field = key;
  if (j.contains("stream") && !j["stream"].is_null()) {
    if (!j["stream"].is_boolean()) return bad(param, "stream", "expected a boolean");
    r.stream = j["stream"].get<bool>();
  }
  if (j.contains("stream_options") && j["stream_options"].is_object()) {
    const json& so = j["stream_options"];
    if (so.contains("include_usage")) {
      if (!so["include_usage"].is_boolean()) return bad(param, "stream_options.include_usage", "expected a boolean");
      r.include_usage = so["include_usage"].get<bool>();
    }
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    if (!j[key].is_number_integer() || j[key].get<long long>() < 1 || j[key].get<long long>() > 1000000)
      return bad(param, key, "expected a positive integer");
    r.max_tokens = j[key].get<int>();
  }
  if (j.contains("temperature") && !j["temperature"].is_null()) {
    if (!j["temperature"].is_number() || j["temperature"].get<double>() < 0.0 || j["temperature"].get<double>() > 2.0)
      return bad(param, "temperature", "expected a number from 0 to 2");
    r.temperature = j["temperature"].get<double>();
  }
  if (auto task = task_from_model(r.model)) {
    if (Status s = check_task_name(*task, "model", param); !s.ok()) return s;
  }
  if (j.contains("user") && j["user"].is_string()) {
    if (j["user"].get_ref<const std::string&>().size() > 512) return bad(param, "user", "longer than 512 bytes");
    r.user = j["user"].get<std::string>();
  }
  if (j.contains("metadata") && j["metadata"].is_object()) {
    const json& m = j["metadata"];
    if (m.size() > 16) return bad(param, "metadata", "more than 16 pairs");
    for (const auto& [key, value] : m.items()) {
      if (key.size() > 64) return bad(param, "metadata", "a key is longer than 64 bytes");
      if (!value.is_string() || value.get_ref<const std::string&>().size() > 512)
        return bad(param, "metadata." + key, "expected a string of at most 512 bytes");
    }
    r.metadata = m;
  }
  if (Status s = read_ladder_extension(j, r.task, r.options, param); !s.ok()) return s;
  r.body = std::move(parsed).value();
  r.body.erase("ladder");  // ladder's own extension fields never reach an upstream
  r.body.erase("ladder_task");
  return r;
}

Status read_ladder_extension(const json& j, std::optional<std::string>& task, RequestOptions& options,
                             std::string* param) {
  if (j.contains("ladder_task")) {
    if (!j["ladder_task"].is_string()) return bad(param, "ladder_task", "expected a string");
    task = j["ladder_task"].get<std::string>();
    if (Status s = check_task_name(*task, "ladder_task", param); !s.ok()) return s;
  }
  if (j.contains("ladder") && !j["ladder"].is_null()) {
    const json& x = j["ladder"];
    if (!x.is_object()) return bad(param, "ladder", "expected an object");
    if (x.contains("task")) {
      if (!x["task"].is_string()) return bad(param, "ladder.task", "expected a string");
      task = x["task"].get<std::string>();
      if (Status s = check_task_name(*task, "ladder.task", param); !s.ok()) return s;
    }
    Status s = read_options(x, "ladder.", options, param);
    if (!s.ok()) return s;
  }
  return {};
}

Result<NativeRouteRequest> parse_route_request(std::string_view body, std::string* param) {
  auto parsed = parse_object(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  NativeRouteRequest r;
  if (!j.contains("task") || !j["task"].is_string() || j["task"].get<std::string>().empty())
    return bad(param, "task", "expected a non-empty string");
  r.task = j["task"].get<std::string>();
  if (Status s = check_task_name(r.task, "task", param); !s.ok()) return s;
  if (!j.contains("input") || !j["input"].is_string()) return bad(param, "input", "expected a string");
  r.input = j["input"].get<std::string>();
  Status s = read_options(j, "", r.options, param);
  if (!s.ok()) return s;
  return r;
}

Result<KillSwitchRequest> parse_kill_switch_request(std::string_view body, std::string* param) {
  auto parsed = parse_object(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  if (!j.contains("enabled") || !j["enabled"].is_boolean()) return bad(param, "enabled", "expected a boolean");
  KillSwitchRequest r;
  r.enabled = j["enabled"].get<bool>();
  if (j.contains("task") && !j["task"].is_null()) {
    if (!j["task"].is_string()) return bad(param, "task", "expected a string");
    r.task = j["task"].get<std::string>();
  }
  return r;
}

Result<std::optional<bool>> parse_shadow_request(std::string_view body, std::string* param) {
  auto parsed = parse_object(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  if (!j.contains("enabled") || !(j["enabled"].is_boolean() || j["enabled"].is_null()))
    return bad(param, "enabled", "expected a boolean or null");
  if (j["enabled"].is_null()) return std::optional<bool>();
  return std::optional<bool>(j["enabled"].get<bool>());
}

std::string routed_input(const ChatCompletionRequest& request) {
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it)
    if (it->role == "user") return it->content;
  return request.messages.empty() ? std::string() : request.messages.back().content;
}

std::optional<std::string> task_from_model(std::string_view model) {
  if (model.substr(0, kTaskModelPrefix.size()) != kTaskModelPrefix || model == kAutoModel) return std::nullopt;
  model.remove_prefix(kTaskModelPrefix.size());
  if (model.empty()) return std::nullopt;
  return std::string(model);
}

Status check_task_name(std::string_view name, const std::string& field, std::string* param) {
  if (name.size() > kMaxTaskNameBytes)
    return bad(param, field,
               "a task name is at most " + std::to_string(kMaxTaskNameBytes) + " bytes (got " +
                   std::to_string(name.size()) + ")");
  const bool charset_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '-';
  });
  if (!charset_ok || name.empty()) return bad(param, field, "a task name is made of letters, digits and _ . : - only");
  return {};
}

Status admit_task(const Config& config, const std::string& task) {
  if (config.find_task(task) || config.escalate_unknown_tasks) return {};
  return make_error(ErrorCode::kNotFound, "task '" + task +
                                              "' is not defined by the policy (GET /v1/models lists ladder/<task> "
                                              "for each task)");
}

nlohmann::json decision_extension(const Decision& d) {
  json x = {{"request_id", d.request_id}, {"task", d.task}, {"route", d.route}};
  x["reason"] = d.reason ? json(std::string(reason_name(*d.reason))) : json();
  if (!d.reason_detail.empty()) x["reason_detail"] = d.reason_detail;
  // The tier and model that answered: the last successful attempt.
  for (auto it = d.tiers.rbegin(); it != d.tiers.rend(); ++it) {
    if (!it->ok) continue;
    x["tier"] = it->tier_name;
    x["model"] = it->model_name;
    break;
  }
  if (d.confidence) x["confidence"] = *d.confidence;
  if (d.shadow) {
    x["shadow"] = true;
    x["shadow_route"] = d.shadow_route ? json(*d.shadow_route) : json();
  }
  if (!d.frontier_error.ok()) x["frontier_error"] = frontier_error_json(d, ErrorDetail::kPublic);
  return x;
}

nlohmann::json chat_completion_json(const ChatAnswer& a) {
  json j = {{"id", a.id},
            {"object", "chat.completion"},
            {"created", a.created},
            {"model", a.model},
            {"choices", json::array({{{"index", 0},
                                      {"message", {{"role", "assistant"}, {"content", a.text}}},
                                      {"logprobs", nullptr},
                                      {"finish_reason", a.finish_reason}}})},
            {"usage",
             {{"prompt_tokens", a.prompt_tokens},
              {"completion_tokens", a.completion_tokens},
              {"total_tokens", a.prompt_tokens + a.completion_tokens}}}};
  if (!a.ladder.is_null()) j["ladder"] = a.ladder;
  return j;
}

nlohmann::json chat_chunk_json(const ChatAnswer& base, std::optional<std::string_view> content, bool with_role,
                               std::optional<std::string_view> finish_reason, const nlohmann::json& ladder) {
  json delta = json::object();
  if (with_role) delta["role"] = "assistant";
  if (content) delta["content"] = std::string(*content);
  json j = {
      {"id", base.id},
      {"object", "chat.completion.chunk"},
      {"created", base.created},
      {"model", base.model},
      {"choices", json::array({{{"index", 0},
                                {"delta", delta},
                                {"logprobs", nullptr},
                                {"finish_reason", finish_reason ? json(std::string(*finish_reason)) : json()}}})}};
  if (!ladder.is_null()) j["ladder"] = ladder;
  return j;
}

nlohmann::json usage_chunk_json(const ChatAnswer& a) {
  return {{"id", a.id},
          {"object", "chat.completion.chunk"},
          {"created", a.created},
          {"model", a.model},
          {"choices", json::array()},
          {"usage",
           {{"prompt_tokens", a.prompt_tokens},
            {"completion_tokens", a.completion_tokens},
            {"total_tokens", a.prompt_tokens + a.completion_tokens}}}};
}

nlohmann::json models_json(const Config& config) {
  json data = json::array();
  auto add = [&](const std::string& id, const std::string& owner) {
    for (const auto& m : data)
      if (m["id"] == id) return;
    data.push_back({{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", owner}});
  };
  add(std::string(kAutoModel), "ladder");
  for (const auto& [name, task] : config.tasks) add(std::string(kTaskModelPrefix) + name, "ladder");
  for (const auto& [name, model] : config.models) {
    add(name, model.backend);
    if (!model.model.empty()) add(model.model, model.backend);
  }
  return {{"object", "list"}, {"data", data}};
}

}  // namespace ladder::server
