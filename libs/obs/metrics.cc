// Prometheus registry: series storage, name validation and the text format.
#include "libs/obs/metrics.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace sluice::obs {
namespace {

bool IsMetricName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(absl::string_view name) {
  if (name.empty() || absl::StartsWith(name, "__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void AppendEscaped(absl::string_view text, bool escape_quote,
                   std::string* out) {
  for (char c : text) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && escape_quote) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

std::string Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  return fmt::format("{}", value);
}

// Adds `le` to an already rendered label set.
std::string WithLe(const std::string& labels, const std::string& le) {
  std::string le_label = absl::StrCat("le=\"", le, "\"");
  if (labels.empty()) return absl::StrCat("{", le_label, "}");
  return absl::StrCat(labels.substr(0, labels.size() - 1), ",", le_label, "}");
}

const char* TypeName(int type) {
  static constexpr const char* kNames[] = {"counter", "gauge", "histogram"};
  return kNames[type];
}

}  // namespace

void AtomicDouble::Add(double delta) {
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + delta,
                                       std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  bounds_.erase(std::remove_if(bounds_.begin(), bounds_.end(),
                               [](double b) { return !std::isfinite(b); }),
                bounds_.end());
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  buckets_.reset(new std::atomic<uint64_t>[bounds_.size() + 1]);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  // NaN lands in +Inf; `le` is inclusive, hence lower_bound.
  size_t i = std::isnan(value)
                 ? bounds_.size()
                 : std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                       bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.Add(value);
}

std::vector<uint64_t> Histogram::bucket_counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  return out;
}

uint64_t Histogram::count() const {
  uint64_t total = 0;
  for (uint64_t n : bucket_counts()) total += n;
  return total;
}

MetricsRegistry::MetricsRegistry() : sink_histogram_({}) {}

void MetricsRegistry::RefuseRegistration(absl::string_view name,
                                         absl::string_view why) {
  invalid_.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("metrics: refusing series of '{}': {}",
                std::string_view(name.data(), name.size()),
                std::string_view(why.data(), why.size()));
}

bool MetricsRegistry::SeriesKey(absl::string_view name, const Labels& labels,
                                Type type, std::string* key) {
  if (!IsMetricName(name)) {
    RefuseRegistration(name, "invalid metric name");
    return false;
  }
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(labels.size());
  for (const auto& label : labels) {
    if (!IsLabelName(label.first) ||
        (type == Type::kHistogram && label.first == "le")) {
      RefuseRegistration(name, "invalid label name");
      return false;
    }
    sorted.push_back(&label);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  key->clear();
  if (sorted.empty()) return true;
  key->push_back('{');
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) {
      if (sorted[i]->first == sorted[i - 1]->first) {
        RefuseRegistration(name, "duplicate label name");
        return false;
      }
      key->push_back(',');
    }
    absl::StrAppend(key, sorted[i]->first, "=\"");
    AppendEscaped(sorted[i]->second, /*escape_quote=*/true, key);
    key->push_back('"');
  }
  key->push_back('}');
  return true;
}

MetricsRegistry::Family* MetricsRegistry::FamilyLocked(absl::string_view name,
                                                       absl::string_view help,
                                                       Type type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{type, std::string(help)})
             .first;
  }
  return it->second.type == type ? &it->second : nullptr;
}

template <typename Series, typename MapOf, typename Make>
Series* MetricsRegistry::FindOrCreate(absl::string_view name,
                                      absl::string_view help, Type type,
                                      const std::string& key, MapOf map_of,
                                      Make make) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto family = families_.find(name);
    if (family != families_.end()) {
      if (family->second.type != type) return nullptr;
      auto& series = map_of(family->second);
      auto it = series.find(key);
      if (it != series.end()) return it->second.get();
    }
  }
  absl::MutexLock lock(&mu_);
  Family* family = FamilyLocked(name, help, type);
  if (family == nullptr) return nullptr;
  auto& slot = map_of(*family)[key];
  if (slot == nullptr) slot = make();
  return slot.get();
}

Counter& MetricsRegistry::counter(absl::string_view name,
                                  absl::string_view help,
                                  const Labels& labels) {
  std::string key;
  if (!SeriesKey(name, labels, Type::kCounter, &key)) return sink_counter_;
  Counter* series = FindOrCreate<Counter>(
      name, help, Type::kCounter, key,
      [](Family & f) -> auto& { return f.counters; },
      [] { return std::make_unique<Counter>(); });
  if (series != nullptr) return *series;
  RefuseRegistration(name, "registered with another type");
  return sink_counter_;
}

Gauge& MetricsRegistry::gauge(absl::string_view name, absl::string_view help,
                              const Labels& labels) {
  std::string key;
  if (!SeriesKey(name, labels, Type::kGauge, &key)) return sink_gauge_;
  Gauge* series = FindOrCreate<Gauge>(
      name, help, Type::kGauge, key,
      [](Family & f) -> auto& { return f.gauges; },
      [] { return std::make_unique<Gauge>(); });
  if (series != nullptr) return *series;
  RefuseRegistration(name, "registered with another type");
  return sink_gauge_;
}

Histogram& MetricsRegistry::histogram(absl::string_view name,
                                      absl::string_view help,
                                      std::vector<double> bounds,
                                      const Labels& labels) {
  std::string key;
  if (!SeriesKey(name, labels, Type::kHistogram, &key)) {
    return sink_histogram_;
  }
  Histogram* series = FindOrCreate<Histogram>(
      name, help, Type::kHistogram, key,
      [](Family & f) -> auto& { return f.histograms; },
      [&bounds] { return std::make_unique<Histogram>(std::move(bounds)); });
  if (series != nullptr) return *series;
  RefuseRegistration(name, "registered with another type");
  return sink_histogram_;
}

std::string MetricsRegistry::RenderPrometheusText() const {
  absl::ReaderMutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    absl::StrAppend(&out, "# HELP ", name, " ");
    AppendEscaped(family.help, /*escape_quote=*/false, &out);
    absl::StrAppend(&out, "\n# TYPE ", name, " ",
                    TypeName(static_cast<int>(family.type)), "\n");
    for (const auto& [labels, counter] : family.counters) {
      absl::StrAppend(&out, name, labels, " ", Number(counter->value()), "\n");
    }
    for (const auto& [labels, gauge] : family.gauges) {
      absl::StrAppend(&out, name, labels, " ", Number(gauge->value()), "\n");
    }
    for (const auto& [labels, histogram] : family.histograms) {
      // _count is the +Inf bucket, so the two always agree.
      std::vector<uint64_t> counts = histogram->bucket_counts();
      const std::vector<double>& bounds = histogram->bounds();
      uint64_t cumulative = 0;
      for (size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        std::string le = i < bounds.size() ? Number(bounds[i]) : "+Inf";
        absl::StrAppend(&out, name, "_bucket", WithLe(labels, le), " ",
                        cumulative, "\n");
      }
      absl::StrAppend(&out, name, "_sum", labels, " ", Number(histogram->sum()),
                      "\n", name, "_count", labels, " ", cumulative, "\n");
    }
  }
  return out;
}

MetricsRegistry& MetricsRegistry::Default() {
  static auto* registry = new MetricsRegistry();
  return *registry;
}

std::vector<double> DefaultLatencyBucketsSeconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
}

}  // namespace sluice::obs
