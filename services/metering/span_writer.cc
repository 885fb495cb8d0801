#include "services/metering/span_writer.h"

#include <utility>

#include "absl/time/clock.h"
#include "libs/obs/metrics.h"
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

int SpanWriter::Add(std::vector<sluice::v1::Span> spans) {
  absl::MutexLock lock(&mu_);
  const size_t room = options_.max_queued > queued_.size()
                          ? options_.max_queued - queued_.size()
                          : 0;
  const size_t taken = std::min(room, spans.size());
  for (size_t i = 0; i < taken; ++i) queued_.push_back(std::move(spans[i]));
  if (taken < spans.size()) SpansRefused().Increment(spans.size() - taken);
  return static_cast<int>(taken);
}

void SpanWriter::Flush() { StoreQueued(); }

void SpanWriter::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || queued_.size() >= kBatch;
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
    std::vector<sluice::v1::Span> batch;
    {
      absl::MutexLock lock(&mu_);
      if (queued_.empty()) break;
      if (queued_.size() <= kBatch) {
        batch.swap(queued_);
      } else {
        batch.assign(std::make_move_iterator(queued_.begin()),
                     std::make_move_iterator(queued_.begin() + kBatch));
        queued_.erase(queued_.begin(), queued_.begin() + kBatch);
      }
    }
    if (absl::Status stored = store_->Record(batch); !stored.ok()) {
      SpansLost().Increment(batch.size());
      spdlog::warn("metering: {} spans not stored: {}", batch.size(),
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
