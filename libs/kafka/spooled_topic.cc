#include "libs/kafka/spooled_topic.h"

#include <algorithm>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "libs/process/thread_name.h"
#include "spdlog/spdlog.h"

namespace sluice::kafka {
namespace {

// A message the broker will never take (too large, bad topic) is not kept:
// retrying it would hold up every message spooled after it.
bool Retriable(const absl::Status& status) {
  return status.code() != absl::StatusCode::kInvalidArgument;
}

// The outcome of producing one spool segment.
struct DrainRound {
  absl::Mutex mu;
  int pending ABSL_GUARDED_BY(mu) = 0;
  int failed ABSL_GUARDED_BY(mu) = 0;

  void Done(const absl::Status& status) {
    absl::MutexLock lock(&mu);
    if (!status.ok()) {
      if (Retriable(status)) {
        ++failed;
      } else {
        spdlog::error(
            "spool: a message was refused for good and is dropped: "
            "{}",
            status.ToString());
      }
    }
    --pending;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<SpooledTopic>> SpooledTopic::Create(
    Producer* producer, std::string topic, Spool::Options spool_options,
    std::function<void(const Stats&)> on_stats) {
  absl::StatusOr<std::unique_ptr<Spool>> spool =
      Spool::Open(std::move(spool_options));
  if (!spool.ok()) return spool.status();
  std::unique_ptr<SpooledTopic> writer(new SpooledTopic(
      producer, std::move(topic), std::shared_ptr<Spool>(*std::move(spool))));
  writer->on_stats_ = std::move(on_stats);
  SpooledTopic* self = writer.get();
  writer->drainer_ = std::thread([self] {
    process::NameThisThread("sluice-drain");
    self->DrainLoop();
  });
  return writer;
}

SpooledTopic::~SpooledTopic() {
  stop_.Notify();
  drainer_.join();
}

void SpooledTopic::Write(absl::string_view key, absl::string_view value,
                         std::function<void()> on_durable) {
  // Shared with the delivery callback: it runs at most once, from there or
  // from here when the producer does not take the message.
  auto durable = std::make_shared<std::function<void()>>(std::move(on_durable));
  auto done = [](const std::shared_ptr<std::function<void()>>& durable) {
    if (*durable) std::exchange(*durable, nullptr)();
  };
  auto on_delivery = [spool = spool_, spooled = spooled_, topic = topic_,
                      key = std::string(key), value = std::string(value),
                      durable, done](absl::Status status) {
    if (!status.ok()) {
      if (!Retriable(status)) {
        spdlog::error("{}: message {} refused for good: {}", topic, key,
                      status.ToString());
      } else if (spool->Append(key, value)) {
        spooled->fetch_add(1);
      }
    }
    done(durable);
  };
  absl::Status queued =
      producer_->TryProduce(topic_, key, value, std::move(on_delivery));
  if (queued.ok()) return;
  if (!Retriable(queued)) {
    spdlog::error("{}: message {} refused for good: {}", topic_,
                  std::string(key), queued.ToString());
  } else if (spool_->Append(key, value)) {
    spooled_->fetch_add(1);
  }
  done(durable);
}

SpooledTopic::Stats SpooledTopic::stats() const {
  Stats stats;
  stats.spooled = spooled_->load();
  stats.delivered_from_spool = delivered_from_spool_.load();
  stats.dropped = spool_->dropped();
  stats.spool_records = spool_->records();
  stats.spool_bytes = spool_->bytes();
  return stats;
}

void SpooledTopic::DrainLoop() {
  constexpr absl::Duration kFirstBackoff = absl::Milliseconds(200);
  absl::Duration backoff = kFirstBackoff;
  while (!stop_.HasBeenNotified()) {
    if (on_stats_) on_stats_(stats());
    std::optional<Spool::Segment> segment = spool_->TakeOldest();
    if (!segment.has_value()) {
      stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100));
      continue;
    }
    if (DrainSegment(*segment)) {
      spool_->Remove(*segment);
      delivered_from_spool_ += static_cast<int64_t>(segment->records.size());
      spdlog::info("{}: {} spooled messages delivered", topic_,
                   segment->records.size());
      backoff = kFirstBackoff;
      continue;
    }
    // The broker is still away: the same segment again, later.
    stop_.WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

bool SpooledTopic::DrainSegment(const Spool::Segment& segment) {
  auto round = std::make_shared<DrainRound>();
  {
    absl::MutexLock lock(&round->mu);
    round->pending = static_cast<int>(segment.records.size());
  }
  for (const auto& [key, value] : segment.records) {
    while (true) {
      absl::Status queued = producer_->TryProduce(
          topic_, key, value,
          [round](absl::Status status) { round->Done(status); });
      if (queued.ok()) break;
      if (queued.code() == absl::StatusCode::kResourceExhausted &&
          !stop_.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
        continue;  // the local queue is full: wait for it to drain
      }
      round->Done(stop_.HasBeenNotified() ? absl::CancelledError("stopping")
                                          : queued);
      break;
    }
  }
  absl::MutexLock lock(&round->mu);
  auto settled = [&round]() ABSL_SHARED_LOCKS_REQUIRED(round->mu) {
    return round->pending == 0;
  };
  while (!round->mu.AwaitWithTimeout(absl::Condition(&settled),
                                     absl::Milliseconds(100))) {
    if (stop_.HasBeenNotified()) return false;
  }
  return round->failed == 0;
}

}  // namespace sluice::kafka
