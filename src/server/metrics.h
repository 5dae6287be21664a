// The metrics of ladder serve, kept in a prometheus-cpp registry and written in the
// Prometheus text exposition format (0.0.4) by its serializer. Families are declared
// once with their type and help; samples are keyed by label set (written in label-name
// order). Thread-safe: samples are prometheus-cpp metrics (atomic values, one lock per
// family); the name table is read under a shared lock.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ladder::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Seconds, from 100 µs to 30 s.
  static const std::vector<double>& latency_buckets();

  void declare(std::string name, MetricType type, std::string help, std::vector<double> buckets = {});
  void add(std::string_view name, const Labels& labels, double by = 1.0);   // counter
  void set(std::string_view name, const Labels& labels, double value);      // gauge
  void observe(std::string_view name, const Labels& labels, double value);  // histogram
  // Value of one counter or gauge sample (0 when absent); for tests and /readyz.
  double value(std::string_view name, const Labels& labels) const;
  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// {a="x",b="y"} with \\, \" and \n escaped; "" for no labels.
std::string label_text(const Labels& labels);
// The metric families of ladder serve (names, units and help in docs/server.md).
void declare_server_metrics(MetricsRegistry& registry);

}  // namespace ladder::server
