#include "libs/trace/tracer.h"

#include <utility>

#include "libs/obs/metrics.h"
#include "libs/obs/trace_context.h"
#include "spdlog/spdlog.h"

namespace sluice::trace {
namespace {

// Spans sent in one export at most.
constexpr size_t kExportBatch = 2048;

obs::Counter& DroppedSpans() {
  static obs::Counter& counter = obs::MetricsRegistry::Default().counter(
      "sluice_trace_spans_dropped_total",
      "Spans dropped because the tracer's queue was full.");
  return counter;
}

obs::Counter& ExportedSpans(const char* exporter, bool ok) {
  return obs::MetricsRegistry::Default().counter(
      ok ? "sluice_trace_spans_exported_total"
         : "sluice_trace_spans_export_failed_total",
      ok ? "Spans an exporter took." : "Spans lost because an export failed.",
      {{"exporter", exporter}});
}

}  // namespace

Tracer& Tracer::Process() {
  static Tracer* tracer = new Tracer();
  return *tracer;
}

Tracer::~Tracer() { Stop(); }

void Tracer::Start(TracerOptions options) {
  Stop();
  {
    absl::MutexLock lock(&mu_);
    options_ = std::move(options);
    stopping_ = false;
  }
  recording_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { Run(); });
}

void Tracer::AddExporter(std::unique_ptr<SpanExporter> exporter) {
  absl::MutexLock lock(&export_mu_);
  exporters_.push_back(std::move(exporter));
}

void Tracer::Stop() {
  recording_.store(false, std::memory_order_release);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  ExportQueued();
  absl::MutexLock lock(&export_mu_);
  exporters_.clear();
}

bool Tracer::SampleNewTrace() const {
  if (!recording()) return false;
  const double ratio = options_.sample_ratio;
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  // The top 53 bits as a fraction in [0, 1).
  const double draw =
      static_cast<double>(obs::ThreadLocalRandom().Next() >> 11) * 0x1.0p-53;
  return draw < ratio;
}

void Tracer::Record(sluice::v1::Span span) {
  if (!recording()) return;
  span.set_service(options_.service_name);
  absl::MutexLock lock(&mu_);
  if (queued_.size() >= options_.max_queued_spans) {
    DroppedSpans().Increment();
    return;
  }
  queued_.push_back(std::move(span));
}

void Tracer::Flush() { ExportQueued(); }

void Tracer::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Duration interval = options_.export_interval;
    // Wakes early when a batch is full or the tracer stops.
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || queued_.size() >= kExportBatch;
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), interval);
    if (stopping_) break;
    mu_.Unlock();
    ExportQueued();
    mu_.Lock();
  }
}

void Tracer::ExportQueued() {
  absl::MutexLock export_lock(&export_mu_);
  for (;;) {
    std::vector<sluice::v1::Span> spans;
    {
      absl::MutexLock lock(&mu_);
      if (queued_.empty()) return;
      if (queued_.size() <= kExportBatch) {
        spans.swap(queued_);
      } else {
        spans.assign(std::make_move_iterator(queued_.begin()),
                     std::make_move_iterator(queued_.begin() + kExportBatch));
        queued_.erase(queued_.begin(), queued_.begin() + kExportBatch);
      }
    }
    for (const auto& exporter : exporters_) {
      absl::Status status = exporter->Export(spans);
      ExportedSpans(exporter->name(), status.ok()).Increment(spans.size());
      if (!status.ok()) {
        spdlog::warn("trace export to {} failed: {}", exporter->name(),
                     status.ToString());
      }
    }
  }
}

}  // namespace sluice::trace
