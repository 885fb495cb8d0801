// The process's span recorder: components hand it finished spans (see
// active_span.h); a thread of its own sends them in batches to the
// exporters (an OTLP collector, metering). Recording never waits on an
// exporter: past `max_queued_spans` spans are dropped and counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::trace {

// Where spans go. Export runs on the tracer's thread and may block (an
// exporter bounds its own waits); it is never called concurrently.
class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Takes the spans (the last exporter gets the tracer's own, the others a
  // copy). They are lost when it fails (counted, never retried: a trace is
  // worth less than the memory a backlog would take).
  virtual absl::Status Export(sluice::v1::SpanBatch batch) = 0;
  // For logs and metric labels: "otlp", "metering".
  virtual const char* name() const = 0;
};

struct TracerOptions {
  // service.name of the spans this process records.
  std::string service_name = "sluice";
  // Share of new traces recorded (0 to 1).
  double sample_ratio = 1;
  absl::Duration export_interval = absl::Seconds(1);
  size_t max_queued_spans = 16384;
};

// Moves the first `count` spans of `from` (all, if it holds fewer) to the
// end of `to`; a swap when `to` is empty and everything moves.
void TakeFront(sluice::v1::SpanBatch& from, size_t count,
               sluice::v1::SpanBatch& to);

class Tracer {
 public:
  // The one components record into.
  static Tracer& Process();

  Tracer() = default;
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Starts recording with `options`; exporters may be added before or
  // after. Recording before Start() or after Stop() is ignored.
  void Start(TracerOptions options);
  void AddExporter(std::unique_ptr<SpanExporter> exporter);
  // Sends what is queued, stops the thread and drops the exporters.
  void Stop();

  // Whether spans are recorded at all: components skip building them
  // when not.
  bool recording() const { return recording_.load(std::memory_order_acquire); }
  // Whether a new trace (a request without a sampled parent) is recorded.
  bool SampleNewTrace() const;
  const std::string& service_name() const { return options_.service_name; }

  // Queues a finished span (its service is set when it is exported).
  void Record(sluice::v1::Span span);
  // Sends what is queued now, on the calling thread (tests, shutdown).
  void Flush();

 private:
  void Run();
  void ExportQueued() ABSL_LOCKS_EXCLUDED(mu_);

  std::atomic<bool> recording_{false};
  TracerOptions options_;
  // Held while exporting, so that Flush() and the thread never export at
  // once (exporters are not thread-safe); taken before mu_.
  absl::Mutex export_mu_;
  std::vector<std::unique_ptr<SpanExporter>> exporters_
      ABSL_GUARDED_BY(export_mu_);
  absl::Mutex mu_;
  sluice::v1::SpanBatch queued_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sluice::trace
