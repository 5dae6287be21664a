#include "store/drift.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <set>

#include "store/stats.h"

namespace ladder::store {
namespace {

constexpr const char* kAbsent = "<absent>";

std::string rfc3339(std::int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string categorical(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

struct Observation {
  std::int64_t window;
  nlohmann::json value;  // null when absent
};

}  // namespace

double jensen_shannon(const std::map<std::string, std::int64_t>& p, const std::map<std::string, std::int64_t>& q) {
  std::set<std::string> keys;
  for (const auto& [k, n] : p) keys.insert(k);
  for (const auto& [k, n] : q) keys.insert(k);
  if (keys.empty()) return 0;
  constexpr double kAlpha = 0.5;
  double np = 0, nq = 0;
  for (const auto& k : keys) {
    np += double(p.count(k) ? p.at(k) : 0) + kAlpha;
    nq += double(q.count(k) ? q.at(k) : 0) + kAlpha;
  }
  double js = 0;
  for (const auto& k : keys) {
    const double a = (double(p.count(k) ? p.at(k) : 0) + kAlpha) / np;
    const double b = (double(q.count(k) ? q.at(k) : 0) + kAlpha) / nq;
    const double m = (a + b) / 2;
    js += 0.5 * a * std::log2(a / m) + 0.5 * b * std::log2(b / m);
  }
  return std::clamp(js, 0.0, 1.0);
}

std::vector<ArgumentDrift> compute_drift(const std::vector<StoredDecision>& decisions, const DriftOptions& options) {
  const std::int64_t width = std::max<std::int64_t>(options.window_seconds, 1);
  // macro -> argument names seen, and every decision of the macro as (window, args).
  std::map<std::string, std::set<std::string>> names;
  std::map<std::string, std::vector<std::pair<std::int64_t, const nlohmann::json*>>> by_macro;
  for (const auto& d : decisions) {
    const auto macro = d.record.find("macro");
    if (macro == d.record.end() || !macro->is_string()) continue;
    const auto ts = d.record.find("ts");
    if (ts == d.record.end() || !ts->is_string()) continue;
    const auto secs = epoch_seconds(ts->get<std::string>());
    if (!secs) continue;
    const std::int64_t window = (*secs >= 0 ? *secs / width : (*secs - width + 1) / width);
    const auto args = d.record.find("args");
    const nlohmann::json* a = (args != d.record.end() && args->is_object()) ? &*args : nullptr;
    if (a)
      for (const auto& [k, v] : a->items()) names[*macro].insert(k);
    names[*macro];
    by_macro[*macro].emplace_back(window, a);
  }
  std::vector<ArgumentDrift> out;
  for (const auto& [macro, args] : names) {
    const auto& rows = by_macro[macro];
    for (const auto& name : args) {
      std::vector<Observation> obs;
      bool numeric = true, any = false;
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (const auto& [window, a] : rows) {
        nlohmann::json v = nullptr;
        if (a && a->contains(name) && !(*a)[name].is_null()) v = (*a)[name];
        if (!v.is_null()) {
          any = true;
          if (v.is_number() && !v.is_boolean()) {
            lo = std::min(lo, v.get<double>());
            hi = std::max(hi, v.get<double>());
          } else {
            numeric = false;
          }
        }
        obs.push_back({window, std::move(v)});
      }
      numeric = numeric && any;
      const int bins = std::max(options.numeric_bins, 1);
      const double step = (hi > lo) ? (hi - lo) / bins : 1.0;
      ArgumentDrift drift{macro, name, numeric, {}, 0, false};
      std::map<std::int64_t, DriftWindow> windows;
      for (const auto& o : obs) {
        std::string key = kAbsent;
        if (!o.value.is_null()) {
          if (numeric) {
            const int bin = std::min(bins - 1, int((o.value.get<double>() - lo) / step));
            char buf[80];
            std::snprintf(buf, sizeof buf, "[%g,%g)", lo + bin * step, lo + (bin + 1) * step);
            key = buf;
          } else {
            key = categorical(o.value);
          }
        }
        DriftWindow& w = windows[o.window];
        w.count++;
        w.counts[key]++;
      }
      const DriftWindow* reference = nullptr;
      for (auto& [index, w] : windows) {
        w.start = rfc3339(index * width);
        if (reference) {
          w.score = jensen_shannon(reference->counts, w.counts);
          w.flagged =
              *w.score > options.threshold && w.count >= options.min_count && reference->count >= options.min_count;
          drift.max_score = std::max(drift.max_score, *w.score);
          drift.flagged = drift.flagged || w.flagged;
        }
        if (!reference || options.against_previous) reference = &w;
      }
      for (auto& [index, w] : windows) drift.windows.push_back(std::move(w));
      out.push_back(std::move(drift));
    }
  }
  return out;
}

nlohmann::json drift_json(const std::vector<ArgumentDrift>& drift) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : drift) {
    nlohmann::json windows = nlohmann::json::array();
    for (const auto& w : d.windows)
      windows.push_back({{"start", w.start},
                         {"count", w.count},
                         {"counts", w.counts},
                         {"score", w.score ? nlohmann::json(*w.score) : nlohmann::json(nullptr)},
                         {"flagged", w.flagged}});
    out.push_back({{"macro", d.macro},
                   {"argument", d.argument},
                   {"kind", d.numeric ? "numeric" : "categorical"},
                   {"max_score", d.max_score},
                   {"flagged", d.flagged},
                   {"windows", windows}});
  }
  return out;
}

}  // namespace ladder::store
