// ladder serve --policy FILE [--host H] [--port P] ...: the OpenAI-compatible gateway.
// Prints "listening on HOST:PORT" as its first line of standard output once it accepts.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "server/gateway.h"
#include "server/http_server.h"
#include "server/run_api.h"
#include "store/shared_state.h"

namespace ladder::cli {
namespace {

struct ServeArgs {
  std::string policy;
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 1;
  int workers = 8;
  int max_queue = 64;
  std::size_t max_body_bytes = 1024 * 1024;
  std::string admin_token_env;
  std::string metrics_token_env;
  std::string api_keys_file;
  int idle_timeout_ms = 60000;
  int write_timeout_ms = 30000;
  std::size_t max_connections = 512;
  std::size_t max_connections_per_client = 128;
  int send_buffer_bytes = 0;
  int health_interval_ms = 10000;
  int inter_token_timeout_ms = 30000;
  std::string audit;
  std::vector<std::string> prices;
  std::string replica_id;
  int shared_sync_ms = 250;
};

Result<server::Price> parse_price(const std::string& text, std::string* model) {
  // MODEL=PROMPT_USD_PER_MTOK:COMPLETION_USD_PER_MTOK
  auto eq = text.find('=');
  auto colon = text.find(':', eq == std::string::npos ? 0 : eq);
  if (eq == std::string::npos || colon == std::string::npos || eq == 0)
    return make_error(ErrorCode::kInvalidArgument, "--price: expected MODEL=PROMPT:COMPLETION, got '" + text + "'");
  *model = text.substr(0, eq);
  try {
    return server::Price{std::stod(text.substr(eq + 1, colon - eq - 1)), std::stod(text.substr(colon + 1))};
  } catch (const std::exception&) {
    return make_error(ErrorCode::kInvalidArgument, "--price: not numbers in '" + text + "'");
  }
}

// The secret in the environment variable `var`, named by `flag`.
Result<std::string> secret_from_env(const std::string& flag, const std::string& var) {
  const char* value = std::getenv(var.c_str());
  if (!value || !*value)
    return make_error(ErrorCode::kConfigInvalid, flag + ": variable " + var + " is unset or empty");
  return std::string(value);
}

int run_serve(const ServeArgs& args) {
  server::ServerOptions so;
  so.host = args.host;
  so.port = args.port;
  so.io_threads = args.threads;
  so.workers = args.workers;
  so.max_queue = args.max_queue;
  so.max_body_bytes = args.max_body_bytes;
  so.inter_token_timeout = std::chrono::milliseconds(args.inter_token_timeout_ms);
  so.idle_timeout = std::chrono::milliseconds(args.idle_timeout_ms);
  so.write_timeout = std::chrono::milliseconds(args.write_timeout_ms);
  so.max_connections = args.max_connections;
  so.max_connections_per_client = args.max_connections_per_client;
  so.send_buffer_bytes = args.send_buffer_bytes;
  if (!args.admin_token_env.empty()) {
    auto token = secret_from_env("--admin-token-env", args.admin_token_env);
    if (!token.ok()) return report_error(token.status());
    so.admin_token = std::move(token).value();
  }
  if (!args.metrics_token_env.empty()) {
    auto token = secret_from_env("--metrics-token-env", args.metrics_token_env);
    if (!token.ok()) return report_error(token.status());
    so.metrics_token = std::move(token).value();
  }
  if (!args.api_keys_file.empty()) {
    auto keys = server::KeyRing::load_file(args.api_keys_file);
    if (!keys.ok()) return report_error(keys.status());
    so.keys = std::move(keys).value();
  }

  server::GatewayOptions go;
  go.policy_path = args.policy;
  go.audit_path = args.audit;
  go.health_interval = std::chrono::milliseconds(args.health_interval_ms);
  for (const auto& p : args.prices) {
    std::string model;
    auto price = parse_price(p, &model);
    if (!price.ok()) return report_error(price.status());
    go.prices[model] = *price;
  }
  server::MetricsRegistry metrics;
  server::declare_server_metrics(metrics);
  auto gateway = server::Gateway::create(std::move(go), metrics);
  if (!gateway.ok()) return report_error(gateway.status());
  // PostgreSQL store: admin switches and client quotas shared with the other replicas.
  if (const StoreConfig& store = (*gateway)->router()->config().store; store.kind == StoreConfig::Kind::kPostgres) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string replica =
        args.replica_id.empty() ? std::string(host) + ":" + std::to_string(::getpid()) : args.replica_id;
    auto shared = store::SharedState::open(store.dsn_env, replica, std::chrono::milliseconds(args.shared_sync_ms));
    if (!shared.ok()) return report_error(shared.status());
    (*gateway)->share_state(std::move(shared).value());
    spdlog::info("ladder serve: replica {} sharing admin state and client quotas", replica);
  }

  // Made once the server is: the macros' HTTP steps go out on the server's own client.
  std::unique_ptr<server::RunApi> run_api;
  so.run_handler = [&run_api](const nlohmann::json& body, const server::ClientIdentity& client) {
    return run_api->handle(body, client);
  };
  server::HttpServer http(std::move(so), **gateway);
  run_api = std::make_unique<server::RunApi>(**gateway, http.upstream());
  auto port = http.listen();
  if (!port.ok()) return report_error(port.status());
  std::cout << "listening on " << args.host << ":" << *port << std::endl;  // flushed: tests read it
  spdlog::info("ladder serve: policy {}, {} keys, admin API {}", args.policy,
               args.api_keys_file.empty() ? "no" : "some", args.admin_token_env.empty() ? "off" : "on");
  http.run();
  return 0;
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* sub = app.add_subcommand("serve", "Serve the OpenAI-compatible gateway over HTTP");
  sub->add_option("--policy", args->policy, "policy YAML file")->required()->check(CLI::ExistingFile);
  sub->add_option("--host", args->host, "address to listen on")->capture_default_str();
  sub->add_option("--port", args->port, "port (0: a free one)")->capture_default_str()->check(CLI::Range(0, 65535));
  sub->add_option("--threads", args->threads, "I/O threads")->capture_default_str()->check(CLI::Range(1, 64));
  sub->add_option("--workers", args->workers, "threads for model calls")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub->add_option("--max-queue", args->max_queue, "model requests that may wait for a worker; more get 429")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  sub->add_option("--max-body-bytes", args->max_body_bytes, "largest request body; larger get 413")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32));
  sub->add_option("--admin-token-env", args->admin_token_env, "environment variable holding the admin token");
  sub->add_option("--metrics-token-env", args->metrics_token_env,
                  "environment variable holding a token that GET /metrics then requires");
  sub->add_option("--idle-timeout-ms", args->idle_timeout_ms,
                  "longest wait for a whole request or the next one on a kept-alive connection (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  sub->add_option("--write-timeout-ms", args->write_timeout_ms,
                  "longest time one write to a client may take; a client that does not read is disconnected (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  sub->add_option("--max-connections", args->max_connections, "open client connections; more get 503 (0: no cap)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
  sub->add_option("--max-connections-per-client", args->max_connections_per_client,
                  "open connections per client IP address; more get 429 (0: no cap)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
  sub->add_option("--send-buffer-bytes", args->send_buffer_bytes,
                  "kernel send buffer of each connection, SO_SNDBUF (0: the kernel's default)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64 * 1024 * 1024));
  sub->add_option("--api-keys-file", args->api_keys_file, "YAML or JSON mapping of client name to API key")
      ->check(CLI::ExistingFile);
  sub->add_option("--health-interval-ms", args->health_interval_ms, "backend health checks (0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  sub->add_option("--inter-token-timeout-ms", args->inter_token_timeout_ms,
                  "longest wait between two streamed deltas (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000));
  sub->add_option("--audit", args->audit, "audit JSONL file (default: the policy's, else ./ladder-audit.jsonl)");
  sub->add_option("--replica-id", args->replica_id,
                  "this replica's name in the shared state (postgres store; default HOST:PID)")
      ->check(
          [](const std::string& id) -> std::string {
            const bool ok = !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-';
            });
            return ok ? std::string() : "expected 1 to 128 of letters, digits, _ . : -";
          },
          "REPLICA");
  sub->add_option("--shared-sync-ms", args->shared_sync_ms,
                  "how often client quotas are synchronised with the other replicas (postgres store)")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000));
  sub->add_option("--price", args->prices, "MODEL=PROMPT:COMPLETION US dollars per million tokens (repeatable)");
  return {sub, [args] { return run_serve(*args); }};
}

}  // namespace ladder::cli
