// JSON ⇄ domain types for the OpenAI-compatible and native endpoints. Pure: parsing
// turns a body into a request (or a Status naming the offending field in `param`),
// building turns a domain result into the wire JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ladder/backend.h"
#include "ladder/config.h"
#include "ladder/decision.h"
#include "ladder/status.h"
#include "policy/gates.h"

namespace ladder::server {

inline constexpr std::string_view kAutoModel = "ladder/auto";
inline constexpr std::string_view kTaskModelPrefix = "ladder/";

// POST /v1/chat/completions. Extensions: "ladder": {"task", "privacy", "force_frontier",
// "tool_chain"} (also top-level "ladder_task").
struct ChatCompletionRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::optional<int> max_tokens;
  std::optional<double> temperature;
  std::optional<std::string> task;  // from the extension
  RequestOptions options;
  // OpenAI's end-user id and metadata, kept in the audit record (scrubbed there). Bounded
  // as OpenAI bounds them: user at most 512 bytes; metadata at most 16 pairs, keys of at
  // most 64 bytes, string values of at most 512.
  std::optional<std::string> user;
  nlohmann::json metadata;  // null when absent
  // The first field that only a relay carries to the upstream (tools, tool_choice,
  // parallel_tool_calls, response_format, a tool message, an assistant's tool_calls, a
  // content part that is not text), as `param` names fields; empty when none.
  std::string relay_field;
  // The body as the client sent it but for ladder's extension fields ("ladder",
  // "ladder_task"): what a relay forwards.
  nlohmann::json body;
};

// POST /v1/route: {"task", "input", "privacy"?, "force_frontier"?, "tool_chain"?}.
struct NativeRouteRequest {
  std::string task;
  std::string input;
  RequestOptions options;
};

// Failures are kParseError (not JSON) or kInvalidArgument (wrong field); `param` names
// the field ("messages[1].content").
Result<ChatCompletionRequest> parse_chat_request(std::string_view body, std::string* param);
Result<NativeRouteRequest> parse_route_request(std::string_view body, std::string* param);
// ladder's extension fields of a request body: "ladder": {"task", "privacy",
// "force_frontier", "tool_chain"} and the top-level "ladder_task" (either sets `task`).
Status read_ladder_extension(const nlohmann::json& body, std::optional<std::string>& task, RequestOptions& options,
                             std::string* param);
// Any JSON object (the /v1/run body); kParseError otherwise.
Result<nlohmann::json> parse_json_object(std::string_view body);

// POST /admin/kill-switch: {"enabled": bool, "task"?: string or null (every task)}.
struct KillSwitchRequest {
  bool enabled = false;
  std::optional<std::string> task;
};
Result<KillSwitchRequest> parse_kill_switch_request(std::string_view body, std::string* param);
// POST /admin/shadow: {"enabled": bool, or null for the policy's own setting}.
Result<std::optional<bool>> parse_shadow_request(std::string_view body, std::string* param);

// The text a routed request decides on: the last user message.
std::string routed_input(const ChatCompletionRequest& request);

// "ladder/<task>" → task; nullopt for any other model name (ladder/auto included).
std::optional<std::string> task_from_model(std::string_view model);

// A task name a client sends (model "ladder/<task>", "ladder": {"task"}, ladder_task,
// the native "task") is at most this long and made of [A-Za-z0-9_.:-]; anything else is
// kInvalidArgument naming `field`, checked when the request is parsed.
inline constexpr std::size_t kMaxTaskNameBytes = 128;
Status check_task_name(std::string_view name, const std::string& field, std::string* param);
// A task the client named: kNotFound when the policy does not define it, unless the
// policy says `escalate_unknown_tasks: true` (then it escalates with unknown_task).
Status admit_task(const Config& config, const std::string& task);

// The decision as the response's "ladder" extension field.
nlohmann::json decision_extension(const Decision& d);

struct ChatAnswer {
  std::string id;  // chatcmpl-...
  std::int64_t created = 0;
  std::string model;  // as the client asked
  std::string text;
  std::string finish_reason = "stop";
  int prompt_tokens = 0;
  int completion_tokens = 0;
  nlohmann::json ladder;  // extension; omitted when null
};

nlohmann::json chat_completion_json(const ChatAnswer& answer);
// One streamed chunk: role/content delta, optional finish_reason, optional extension.
nlohmann::json chat_chunk_json(const ChatAnswer& base, std::optional<std::string_view> content, bool with_role,
                               std::optional<std::string_view> finish_reason, const nlohmann::json& ladder = {});
nlohmann::json usage_chunk_json(const ChatAnswer& base);

// GET /v1/models: ladder/auto, ladder/<task> per task, every configured model by its
// key under models: and by its upstream id.
nlohmann::json models_json(const Config& config);

}  // namespace ladder::server
