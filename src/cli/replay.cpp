// ladder replay ID --policy FILE --who NAME --why TEXT [--json]
// ladder replay log --policy FILE [--id ID] [--json]
//
// Controlled replay (docs/store.md): unseals one decision's raw input with the policy's
// replay key and routes it again; every access is recorded in the store's replay_access
// table, before the input is unsealed, with who, why and the outcome.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <optional>

#include "audit/redact.h"
#include "audit/seal.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "ladder/utf8.h"
#include "store/record_fields.h"
#include "store/stats.h"

namespace ladder::cli {
namespace {

constexpr std::size_t kMaxWho = 128;
constexpr std::size_t kMaxWhy = 2000;
constexpr std::size_t kMaxRequestId = 128;

struct ReplayArgs {
  std::string id;
  std::string policy;
  std::string who;
  std::string why;
  bool json = false;
};

struct LogArgs {
  std::string policy;
  std::string id;
  bool json = false;
};

// A refusal: "error: <reason>: <message>" on stderr, exit code 2. The reason is one word
// scripts can match: bad_id, bad_argument, replay_not_enabled, no_key, not_found,
// no_sealed_input, wrong_key, tampered.
int refuse(const std::string& reason, const std::string& message) {
  std::cerr << "error: " << reason << ": " << message << "\n";
  return 2;
}

// An ID is a decision id (a positive number) or a request id (letters, digits, _ . : -).
struct ParsedId {
  std::int64_t decision_id = 0;
  std::string request_id;
};
std::optional<ParsedId> parse_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxRequestId) return std::nullopt;
  if (std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (id.size() > 18) return std::nullopt;
    const std::int64_t n = std::stoll(id);
    if (n <= 0) return std::nullopt;
    return ParsedId{n, ""};
  }
  const bool ok = std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':';
  });
  if (!ok) return std::nullopt;
  return ParsedId{0, id};
}

// Why --who or --why is not acceptable, or empty.
std::string bad_text(const std::string& flag, const std::string& text, std::size_t max) {
  if (text.find_first_not_of(" \t") == std::string::npos) return flag + " is required (who asks, and why)";
  if (text.size() > max) return flag + " is longer than " + std::to_string(max) + " bytes";
  if (!valid_utf8(text)) return flag + " is not valid UTF-8";
  if (std::any_of(text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    return flag + " holds control characters";
  return "";
}

nlohmann::json text_or_null(const nlohmann::json& record, const char* key) {
  const auto it = record.find(key);
  return it != record.end() && it->is_string() ? *it : nlohmann::json(nullptr);
}

nlohmann::json stored_summary(const nlohmann::json& r) {
  const auto conf = r.find("confidence");
  return {{"route", text_or_null(r, "route")},
          {"reason", text_or_null(r, "reason")},
          {"label", text_or_null(r, "label")},
          {"answer_sha256", text_or_null(r, "answer_sha256")},
          {"confidence", conf != r.end() && conf->is_number() ? *conf : nlohmann::json(nullptr)}};
}

nlohmann::json replayed_summary(const Decision& d) {
  return {{"route", d.route},
          {"reason", d.reason ? nlohmann::json(std::string(reason_name(*d.reason))) : nlohmann::json(nullptr)},
          {"label", d.label.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.label)},
          {"answer_sha256", sha256_hex(d.answer_text)},
          {"confidence", d.confidence ? nlohmann::json(*d.confidence) : nlohmann::json(nullptr)},
          {"request_id", d.request_id},
          {"answer", d.answer_text}};
}

// The same route, and the same label (or, without labels, the same answer).
bool agrees(const nlohmann::json& stored, const nlohmann::json& replayed) {
  if (stored["route"] != replayed["route"]) return false;
  if (!stored["label"].is_null() || !replayed["label"].is_null()) return stored["label"] == replayed["label"];
  return stored["answer_sha256"] == replayed["answer_sha256"];
}

std::string cell(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

int run_replay(const ReplayArgs& a) {
  const auto id = parse_id(a.id);
  if (!id)
    return refuse("bad_id",
                  "ID must be a decision id (a positive number) or a request id (letters, digits, "
                  "_ . : -, at most 128), got '" +
                      sanitize_utf8(a.id.substr(0, kMaxRequestId)) + "'");
  if (auto bad = bad_text("--who", a.who, kMaxWho); !bad.empty()) return refuse("bad_argument", bad);
  if (auto bad = bad_text("--why", a.why, kMaxWhy); !bad.empty()) return refuse("bad_argument", bad);
  auto opened = open_policy_store(a.policy);
  if (!opened.ok()) return report_error(opened.status());
  const Config& config = *opened->config;
  if (config.audit.replay_key_env.empty())
    return refuse("replay_not_enabled", "policy '" + a.policy + "' keeps no sealed inputs (audit.replay.key_env)");
  auto key = audit::seal_key_from_env(config.audit.replay_key_env);
  if (!key.ok()) return refuse("no_key", "audit.replay.key_env: " + key.status().message());
  store::RecordStore& db = *opened->store;

  store::DecisionFilter filter;
  filter.id = id->decision_id;
  filter.request_id = id->request_id;
  auto found = db.query(filter);
  if (!found.ok()) return report_error(found.status());

  store::ReplayAccess access;
  access.request_id = a.id;
  access.who = a.who;
  access.why = a.why;
  access.ts = store::rfc3339_seconds_ago(0);
  access.key_id = key->id;
  // Every outcome is recorded before anything is unsealed or refused.
  auto record_access = [&](const std::string& outcome) -> Result<std::int64_t> {
    access.outcome = outcome;
    return db.add_replay_access(access);
  };
  if (found->empty()) {
    if (auto r = record_access("not_found"); !r.ok()) return report_error(r.status());
    return refuse("not_found", "no decision with id '" + a.id + "' in the policy's store");
  }
  const store::StoredDecision& stored = found->back();  // a request id seen twice: the newest
  const nlohmann::json& record = stored.record;
  access.request_id = store::string_field(record, "request_id", a.id);
  const auto sealed = record.find("sealed_input");
  if (sealed == record.end() || sealed->is_null()) {
    if (auto r = record_access("no_sealed_input"); !r.ok()) return report_error(r.status());
    return refuse("no_sealed_input", "decision " + std::to_string(stored.id) +
                                         " has no sealed input (written without audit.replay, or before it)");
  }
  const std::string sealed_key = sealed->is_object() ? store::string_field(*sealed, "key_id") : std::string();
  if (sealed_key.empty()) {  // no key id to compare: the object itself was changed
    if (auto r = record_access("tampered"); !r.ok()) return report_error(r.status());
    return refuse("tampered",
                  "decision " + std::to_string(stored.id) + ": the sealed input is not an AES-256-GCM object");
  }
  if (sealed_key != key->id) {
    if (auto r = record_access("wrong_key"); !r.ok()) return report_error(r.status());
    return refuse("wrong_key", "decision " + std::to_string(stored.id) + " was sealed with key " +
                                   sanitize_utf8(sealed_key) + "; " + config.audit.replay_key_env + " holds key " +
                                   key->id);
  }
  auto access_id = record_access("opened");
  if (!access_id.ok()) return report_error(access_id.status());
  auto finish = [&](const std::string& outcome) {
    if (Status s = db.set_replay_outcome(*access_id, outcome); !s.ok()) report_error(s);
  };
  auto input = audit::unseal(*key, *sealed);
  if (!input.ok()) {
    finish("tampered");
    return refuse("tampered", "decision " + std::to_string(stored.id) + ": " + input.status().message());
  }

  // The current policy without its rotation; the replayed decision is not traffic, so it
  // is not written to the store (the access record stands for it).
  auto replay_config = std::make_shared<Config>(config);
  replay_config->rotation.reset();
  auto router = Router::create(replay_config, nullptr);
  if (!router.ok()) {
    finish("replay_failed");
    return report_error(router.status());
  }
  RouteRequest req;
  req.task = store::string_field(record, "task");
  req.input = std::move(input).value();
  const auto local_only = record.find("local_only");
  req.options.privacy = local_only != record.end() && local_only->is_boolean() && local_only->get<bool>();
  auto decision = (*router)->route(req);
  if (!decision.ok()) {
    finish("replay_failed");
    return report_error(decision.status());
  }
  finish("replayed");

  const nlohmann::json before = stored_summary(record), after = replayed_summary(*decision);
  const bool agree = agrees(before, after);
  if (a.json) {
    nlohmann::json out = {{"access_id", *access_id}, {"decision_id", stored.id}, {"request_id", access.request_id},
                          {"task", req.task},        {"stored", before},         {"replayed", after},
                          {"agree", agree}};
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << "replay of decision " << stored.id << " (request " << access.request_id << ", task " << req.task
            << "), access " << *access_id << "\n";
  std::cout << "              stored / replayed\n";
  for (const char* field : {"route", "reason", "label", "confidence"})
    std::cout << "  " << field << ":" << std::string(12 - std::char_traits<char>::length(field), ' ')
              << cell(before[field]) << " / " << cell(after[field]) << "\n";
  std::cout << "  answer:      " << decision->answer_text << "\n";
  std::cout << "agree: " << (agree ? "yes" : "no") << "\n";
  return 0;
}

int run_log(const LogArgs& a) {
  std::string request_id;
  auto opened = open_policy_store(a.policy);
  if (!opened.ok()) return report_error(opened.status());
  if (!a.id.empty()) {
    const auto id = parse_id(a.id);
    if (!id) return refuse("bad_id", "--id must be a decision id or a request id");
    request_id = a.id;
    if (id->decision_id > 0) {  // accesses are kept by request id: find the decision's
      store::DecisionFilter filter;
      filter.id = id->decision_id;
      auto found = opened->store->query(filter);
      if (!found.ok()) return report_error(found.status());
      if (!found->empty()) request_id = store::string_field(found->back().record, "request_id", a.id);
    }
  }
  auto accesses = opened->store->replay_accesses(request_id);
  if (!accesses.ok()) return report_error(accesses.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& x : *accesses) {
    if (a.json) {
      out.push_back({{"id", x.id},
                     {"request_id", x.request_id},
                     {"who", x.who},
                     {"why", x.why},
                     {"ts", x.ts},
                     {"outcome", x.outcome},
                     {"key_id", x.key_id}});
    } else {
      std::cout << x.id << "  " << x.ts << "  " << x.request_id << "  " << x.outcome << "  key " << x.key_id << "  by "
                << x.who << ": " << x.why << "\n";
    }
  }
  if (a.json) std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (!a.json && accesses->empty()) std::cout << "no replay accesses\n";
  return 0;
}

}  // namespace

Command add_replay_command(CLI::App& app) {
  auto args = std::make_shared<ReplayArgs>();
  auto log_args = std::make_shared<LogArgs>();
  CLI::App* replay = app.add_subcommand("replay", "Re-run a stored decision from its sealed input (recorded access)");
  replay->require_subcommand(0, 1);
  replay->add_option("id", args->id, "decision id (a number) or request id");
  replay->add_option("--policy", args->policy, "policy YAML file (its store: and audit.replay)");
  replay->add_option("--who", args->who, "who is replaying (recorded)");
  replay->add_option("--why", args->why, "why (recorded)");
  replay->add_flag("--json", args->json, "print JSON");
  CLI::App* log = replay->add_subcommand("log", "List the recorded replay accesses");
  log->add_option("--policy", log_args->policy, "policy YAML file (its store: section)")->required();
  log->add_option("--id", log_args->id, "only the accesses to this decision id or request id");
  log->add_flag("--json", log_args->json, "print JSON");
  return {replay, [args, log_args, log] {
            if (log->parsed()) return run_log(*log_args);
            if (args->id.empty()) return refuse("bad_id", "give the decision's ID (or `ladder replay log`)");
            if (args->policy.empty()) return refuse("bad_argument", "--policy is required");
            return run_replay(*args);
          }};
}

}  // namespace ladder::cli
