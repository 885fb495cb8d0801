#include "libs/trace/tracer.h"

#include <algorithm>
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

void TakeFront(sluice::v1::SpanBatch& from, size_t count,
               sluice::v1::SpanBatch& to) {
  const int moved =
      static_cast<int>(std::min(count, static_cast<size_t>(from.spans_size())));
  if (moved == from.spans_size() && to.spans_size() == 0) {
    to.Swap(&from);
    return;
  }
  auto* spans = from.mutable_spans();
  to.mutable_spans()->Reserve(to.spans_size() + moved);
  for (int i = 0; i < moved; ++i) {
    *to.add_spans() = std::move(*spans->Mutable(i));
  }
  spans->DeleteSubrange(0, moved);
}

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
  absl::MutexLock lock(&mu_);
  if (static_cast<size_t>(queued_.spans_size()) >= options_.max_queued_spans) {
    DroppedSpans().Increment();
    return;
  }
  // Moved, not copied (no arena: a swap of the message's fields).
  *queued_.add_spans() = std::move(span);
}

void Tracer::Flush() { ExportQueued(); }

void Tracer::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Duration interval = options_.export_interval;
    // Wakes early when a batch is full or the tracer stops.
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ ||
             static_cast<size_t>(queued_.spans_size()) >= kExportBatch;
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
    sluice::v1::SpanBatch batch;
    {
      absl::MutexLock lock(&mu_);
      if (queued_.spans_size() == 0) return;
      TakeFront(queued_, kExportBatch, batch);
    }
    // Named here, off the threads that record.
    for (sluice::v1::Span& span : *batch.mutable_spans()) {
      span.set_service(options_.service_name);
    }
    const size_t count = static_cast<size_t>(batch.spans_size());
    for (size_t i = 0; i < exporters_.size(); ++i) {
      SpanExporter& exporter = *exporters_[i];
      absl::Status status = exporter.Export(
          i + 1 == exporters_.size() ? std::move(batch) : batch);
      ExportedSpans(exporter.name(), status.ok()).Increment(count);
      if (!status.ok()) {
        spdlog::warn("trace export to {} failed: {}", exporter.name(),
                     status.ToString());
      }
    }
  }
}

}  // namespace sluice::trace
