#include "services/metering/span_writer.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "libs/obs/metrics.h"
#include "libs/trace/tracer.h"
#include "spdlog/spdlog.h"

namespace sluice::metering {
namespace {

// Spans per store transaction at most.
constexpr size_t kBatch = 2048;

obs::Counter& SpansRefused() {
  static obs::Counter& counter = obs::MetricsRegistry::Default().counter(
      "sluice_metering_spans_refused_total",
      "Spans metering could not queue for storage (queue full).");
  return counter;
}

obs::Counter& SpansLost() {
  static obs::Counter& counter = obs::MetricsRegistry::Default().counter(
      "sluice_metering_spans_lost_total",
      "Spans metering failed to store (store errors).");
  return counter;
}

}  // namespace

SpanWriter::SpanWriter(SpanStorePtr store, Options options)
    : store_(std::move(store)), options_(options) {
  thread_ = std::thread([this] { Run(); });
}

SpanWriter::~SpanWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  StoreQueued();
}

int SpanWriter::Add(sluice::v1::SpanBatch spans) {
  const size_t offered = static_cast<size_t>(spans.spans_size());
  absl::MutexLock lock(&mu_);
  const size_t queued = static_cast<size_t>(queued_.spans_size());
  const size_t room =
      options_.max_queued > queued ? options_.max_queued - queued : 0;
  const size_t taken = std::min(room, offered);
  trace::TakeFront(spans, taken, queued_);
  if (taken < offered) SpansRefused().Increment(offered - taken);
  return static_cast<int>(taken);
}

void SpanWriter::Flush() { StoreQueued(); }

void SpanWriter::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || static_cast<size_t>(queued_.spans_size()) >= kBatch;
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), options_.flush_interval);
    if (stopping_) break;
    mu_.Unlock();
    StoreQueued();
    mu_.Lock();
  }
}

void SpanWriter::StoreQueued() {
  absl::MutexLock store_lock(&store_mu_);
  for (;;) {
    sluice::v1::SpanBatch batch;
    {
      absl::MutexLock lock(&mu_);
      if (queued_.spans_size() == 0) break;
      trace::TakeFront(queued_, kBatch, batch);
    }
    const int count = batch.spans_size();
    if (absl::Status stored = store_->Record(std::move(batch)); !stored.ok()) {
      SpansLost().Increment(count);
      spdlog::warn("metering: {} spans not stored: {}", count,
                   stored.ToString());
    }
  }
  const absl::Time now = absl::Now();
  if (now >= next_prune_) {
    next_prune_ = now + absl::Minutes(1);
    absl::StatusOr<int64_t> pruned = store_->Prune(now - options_.retention);
    if (!pruned.ok()) {
      spdlog::warn("metering: pruning spans: {}", pruned.status().ToString());
    }
  }
}

}  // namespace sluice::metering
