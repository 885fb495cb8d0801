// Takes spans from every process's tracer (Metering.RecordSpans) without
// making the caller wait: they queue in memory (bounded: past the bound
// they are refused and counted) and a thread of its own stores them in
// batches and prunes those older than the retention.
#pragma once

#include <cstdint>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/metering/span_store.h"

namespace sluice::metering {

class SpanWriter {
 public:
  struct Options {
    absl::Duration retention = absl::Hours(24);
    size_t max_queued = 65536;
    // Longest a span waits in memory before it is stored.
    absl::Duration flush_interval = absl::Milliseconds(200);
  };

  SpanWriter(SpanStorePtr store, Options options);
  // Stores what is queued, then stops.
  ~SpanWriter();

  // How many of `spans` were taken (the rest did not fit).
  int Add(sluice::v1::SpanBatch spans);
  // Stores what is queued now (tests; reads right after a write).
  void Flush();

  SpanStore& store() { return *store_; }

 private:
  void Run();
  void StoreQueued() ABSL_LOCKS_EXCLUDED(mu_);

  const SpanStorePtr store_;
  const Options options_;
  absl::Mutex store_mu_;  // one writer at a time; taken before mu_
  absl::Time next_prune_ ABSL_GUARDED_BY(store_mu_) = absl::InfinitePast();
  absl::Mutex mu_;
  sluice::v1::SpanBatch queued_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sluice::metering
