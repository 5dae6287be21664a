// A small metrics registry that writes the Prometheus text exposition format (0.0.4).
// Families are declared once with their type and help; samples are keyed by label set.
// Thread-safe: one mutex guards every family (shared state, marked as such).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ladder::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

class MetricsRegistry {
 public:
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
  struct Histogram {
    std::vector<double> counts;  // per bucket (not cumulative)
    double sum = 0.0;
    double count = 0.0;
  };
  struct Family {
    MetricType type = MetricType::kCounter;
    std::string help;
    std::vector<double> buckets;
    std::map<std::string, double> values;         // label text → value
    std::map<std::string, Histogram> histograms;  // label text → histogram
  };
  Family* find(std::string_view name);

  mutable std::mutex mu_;  // guards families_
  std::map<std::string, Family, std::less<>> families_;
};

// {a="x",b="y"} with \\, \" and \n escaped; "" for no labels.
std::string label_text(const Labels& labels);
// The metric families of ladder serve (names, units and help in docs/server.md).
void declare_server_metrics(MetricsRegistry& registry);

}  // namespace ladder::server
