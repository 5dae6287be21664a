#include "server/metrics.h"

#include <cmath>
#include <cstdio>

namespace ladder::server {
namespace {

std::string format_value(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

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

// Label text with one more label appended (histogram buckets: le).
std::string with_label(const std::string& text, const std::string& name, const std::string& value) {
  std::string extra = name + "=\"" + value + "\"";
  if (text.empty()) return "{" + extra + "}";
  return text.substr(0, text.size() - 1) + "," + extra + "}";
}

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

const std::vector<double>& MetricsRegistry::latency_buckets() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0, 30.0};
  return kBuckets;
}

void MetricsRegistry::declare(std::string name, MetricType type, std::string help, std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  Family& f = families_[std::move(name)];
  f.type = type;
  f.help = std::move(help);
  f.buckets = std::move(buckets);
}

MetricsRegistry::Family* MetricsRegistry::find(std::string_view name) {
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : &it->second;
}

void MetricsRegistry::add(std::string_view name, const Labels& labels, double by) {
  const std::string key = label_text(labels);
  std::lock_guard lock(mu_);
  if (Family* f = find(name)) f->values[key] += by;
}

void MetricsRegistry::set(std::string_view name, const Labels& labels, double value) {
  const std::string key = label_text(labels);
  std::lock_guard lock(mu_);
  if (Family* f = find(name)) f->values[key] = value;
}

void MetricsRegistry::observe(std::string_view name, const Labels& labels, double value) {
  const std::string key = label_text(labels);
  std::lock_guard lock(mu_);
  Family* f = find(name);
  if (!f) return;
  Histogram& h = f->histograms[key];
  if (h.counts.empty()) h.counts.assign(f->buckets.size(), 0.0);
  for (std::size_t i = 0; i < f->buckets.size(); ++i)
    if (value <= f->buckets[i]) {
      h.counts[i] += 1;
      break;
    }
  h.sum += value;
  h.count += 1;
}

double MetricsRegistry::value(std::string_view name, const Labels& labels) const {
  const std::string key = label_text(labels);
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0.0;
  auto v = it->second.values.find(key);
  return v == it->second.values.end() ? 0.0 : v->second;
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == MetricType::kCounter ? "counter"
                       : f.type == MetricType::kGauge ? "gauge"
                                                      : "histogram";
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + type + "\n";
    if (f.type != MetricType::kHistogram) {
      for (const auto& [labels, v] : f.values) out += name + labels + " " + format_value(v) + "\n";
      continue;
    }
    for (const auto& [labels, h] : f.histograms) {
      double cumulative = 0.0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += h.counts[i];
        out += name + "_bucket" + with_label(labels, "le", format_value(f.buckets[i])) + " " +
               format_value(cumulative) + "\n";
      }
      out += name + "_bucket" + with_label(labels, "le", "+Inf") + " " + format_value(h.count) + "\n";
      out += name + "_sum" + labels + " " + format_value(h.sum) + "\n";
      out += name + "_count" + labels + " " + format_value(h.count) + "\n";
    }
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
            "Requests refused before any work by cause (queue_full, body_too_large, unauthenticated).");
  r.declare("ladder_in_flight_requests", MetricType::kGauge, "Model requests queued or running.");
  r.declare("ladder_backend_healthy", MetricType::kGauge, "1 when the model passed its last health check.");
  r.declare("ladder_policy_reloads_total", MetricType::kCounter, "Policy reloads by outcome (ok, error).");
  r.declare("ladder_audit_write_failures_total", MetricType::kCounter, "Audit records that could not be written.");
}

}  // namespace ladder::server
