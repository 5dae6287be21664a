#include "server/metrics.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <variant>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace ladder::server {
namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

prometheus::Labels to_labels(const Labels& labels) {
  prometheus::Labels out;
  for (const auto& [name, value] : labels) out.emplace(name, value);
  return out;
}

struct HistogramFamily {
  prometheus::Family<prometheus::Histogram>* family;
  prometheus::Histogram::BucketBoundaries buckets;
};
using AnyFamily =
    std::variant<prometheus::Family<prometheus::Counter>*, prometheus::Family<prometheus::Gauge>*, HistogramFamily>;

}  // namespace

std::string label_text(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ",";
    out += labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
  }
  return out + "}";
}

struct MetricsRegistry::Impl {
  prometheus::Registry registry;
  mutable std::shared_mutex mu;  // guards families (declared at start, read per sample)
  std::map<std::string, AnyFamily, std::less<>> families;
  std::map<std::string, std::string, std::less<>> help;

  const AnyFamily* find(std::string_view name) const {
    auto it = families.find(name);
    return it == families.end() ? nullptr : &it->second;
  }
};

MetricsRegistry::MetricsRegistry() : impl_(std::make_unique<Impl>()) {}
MetricsRegistry::~MetricsRegistry() = default;

const std::vector<double>& MetricsRegistry::latency_buckets() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0, 30.0};
  return kBuckets;
}

void MetricsRegistry::declare(std::string name, MetricType type, std::string help, std::vector<double> buckets) {
  std::unique_lock lock(impl_->mu);
  if (impl_->families.count(name) != 0) return;
  auto& registry = impl_->registry;
  AnyFamily family;
  switch (type) {
    case MetricType::kCounter:
      family = &prometheus::BuildCounter().Name(name).Help(help).Register(registry);
      break;
    case MetricType::kGauge:
      family = &prometheus::BuildGauge().Name(name).Help(help).Register(registry);
      break;
    case MetricType::kHistogram:
      family =
          HistogramFamily{&prometheus::BuildHistogram().Name(name).Help(help).Register(registry), std::move(buckets)};
      break;
  }
  impl_->help.emplace(name, help);
  impl_->families.emplace(std::move(name), std::move(family));
}

void MetricsRegistry::add(std::string_view name, const Labels& labels, double by) {
  std::shared_lock lock(impl_->mu);
  const AnyFamily* f = impl_->find(name);
  if (f == nullptr) return;
  if (auto* counter = std::get_if<prometheus::Family<prometheus::Counter>*>(f)) {
    if (by >= 0) (*counter)->Add(to_labels(labels)).Increment(by);
  } else if (auto* gauge = std::get_if<prometheus::Family<prometheus::Gauge>*>(f)) {
    (*gauge)->Add(to_labels(labels)).Increment(by);
  }
}

void MetricsRegistry::set(std::string_view name, const Labels& labels, double value) {
  std::shared_lock lock(impl_->mu);
  const AnyFamily* f = impl_->find(name);
  if (f == nullptr) return;
  if (auto* gauge = std::get_if<prometheus::Family<prometheus::Gauge>*>(f)) {
    (*gauge)->Add(to_labels(labels)).Set(value);
  }
}

void MetricsRegistry::observe(std::string_view name, const Labels& labels, double value) {
  std::shared_lock lock(impl_->mu);
  const AnyFamily* f = impl_->find(name);
  if (f == nullptr) return;
  if (auto* histogram = std::get_if<HistogramFamily>(f)) {
    histogram->family->Add(to_labels(labels), histogram->buckets).Observe(value);
  }
}

double MetricsRegistry::value(std::string_view name, const Labels& labels) const {
  std::shared_lock lock(impl_->mu);
  const AnyFamily* f = impl_->find(name);
  if (f == nullptr) return 0.0;
  const auto key = to_labels(labels);
  if (auto* counter = std::get_if<prometheus::Family<prometheus::Counter>*>(f)) {
    return (*counter)->Has(key) ? (*counter)->Add(key).Value() : 0.0;
  }
  if (auto* gauge = std::get_if<prometheus::Family<prometheus::Gauge>*>(f)) {
    return (*gauge)->Has(key) ? (*gauge)->Add(key).Value() : 0.0;
  }
  return 0.0;
}

std::string MetricsRegistry::render() const {
  const auto families = impl_->registry.Collect();
  std::string out = prometheus::TextSerializer().Serialize(families);
  // A declared family without samples yet is still listed (help and type), as before.
  std::shared_lock lock(impl_->mu);
  for (const auto& [name, family] : impl_->families) {
    // Captured by an init-capture: clang before 16 cannot capture a structured binding.
    const bool sampled =
        std::any_of(families.begin(), families.end(),
                    [&name = name](const prometheus::MetricFamily& f) { return f.name == name && !f.metric.empty(); });
    if (sampled) continue;
    const char* type = std::holds_alternative<HistogramFamily>(family)                          ? "histogram"
                       : std::holds_alternative<prometheus::Family<prometheus::Gauge>*>(family) ? "gauge"
                                                                                                : "counter";
    out += "# HELP " + name + " " + impl_->help.at(name) + "\n# TYPE " + name + " " + type + "\n";
  }
  return out;
}

void declare_server_metrics(MetricsRegistry& r) {
  const auto& b = MetricsRegistry::latency_buckets();
  r.declare("ladder_http_requests_total", MetricType::kCounter, "HTTP requests by endpoint and status code.");
  r.declare("ladder_http_request_duration_seconds", MetricType::kHistogram,
            "Time from request read to response written, by endpoint.", b);
  r.declare("ladder_gateway_overhead_seconds", MetricType::kHistogram,
            "Gateway's own time per model request: request time minus backend time.", b);
  r.declare("ladder_decisions_total", MetricType::kCounter, "Routing decisions by task, route and reason.");
  r.declare("ladder_local_runs_total", MetricType::kCounter, "Requests whose local tier ran, by task.");
  r.declare("ladder_local_accepts_total", MetricType::kCounter,
            "Requests whose local answer was accepted, by task (acceptance = accepts / runs).");
  r.declare("ladder_stage_duration_seconds", MetricType::kHistogram, "Router stage latency by stage.", b);
  r.declare("ladder_backend_duration_seconds", MetricType::kHistogram, "Backend call latency by model.", b);
  r.declare("ladder_tokens_total", MetricType::kCounter, "Tokens by model and kind (prompt, completion, cached).");
  r.declare("ladder_cost_usd_total", MetricType::kCounter,
            "Estimated spend in US dollars by model, from --price flags (absent when no price is set).");
  r.declare("ladder_pass_through_total", MetricType::kCounter, "Pass-through requests by model and outcome.");
  r.declare("ladder_stream_failures_total", MetricType::kCounter,
            "Streaming failures by class: before_first_token (fell back), mid_stream (error event), "
            "inter_token_timeout.");
  r.declare("ladder_rejected_total", MetricType::kCounter,
            "Requests and connections refused before any work by cause (queue_full, body_too_large, "
            "unauthenticated, connection_limit, client_connection_limit, client_requests_per_minute, "
            "client_tokens_per_minute, client_usd_per_day).");
  r.declare("ladder_open_connections", MetricType::kGauge, "Client connections open now.");
  r.declare("ladder_connection_timeouts_total", MetricType::kCounter,
            "Connections closed by a timeout, by kind: idle (no whole request within --idle-timeout-ms), "
            "write (the client did not read its reply within --write-timeout-ms).");
  r.declare("ladder_in_flight_requests", MetricType::kGauge, "Model requests queued or running.");
  r.declare("ladder_upstream_idle_connections", MetricType::kGauge,
            "Idle kept-alive connections in the pool of the server's upstream HTTP client.");
  r.declare("ladder_upstream_connections_opened_total", MetricType::kCounter,
            "Connections the server's upstream HTTP client opened (backends, relays, macro HTTP steps).");
  r.declare("ladder_upstream_requests_reused_total", MetricType::kCounter,
            "Requests the server's upstream HTTP client sent on a kept-alive connection.");
  r.declare("ladder_upstream_stale_retries_total", MetricType::kCounter,
            "Requests sent again on a fresh connection after a kept-alive one was found closed.");
  r.declare("ladder_backend_healthy", MetricType::kGauge,
            "1 while the model is not marked down (real calls and probes).");
  r.declare("ladder_policy_reloads_total", MetricType::kCounter, "Policy reloads by outcome (ok, error).");
  r.declare("ladder_audit_write_failures_total", MetricType::kCounter, "Audit records that could not be written.");
  r.declare("ladder_store_queue_overflows_total", MetricType::kCounter,
            "Requests that found the decision store's write queue full (they waited or were refused).");
}

}  // namespace ladder::server
