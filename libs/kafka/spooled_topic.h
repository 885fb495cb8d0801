// Produces to one topic without ever blocking the caller and without losing
// a message to a broker outage: a message the producer cannot take now, or
// whose delivery fails (the topic's message.timeout.ms bounds how long it
// waits in memory), is appended to a disk Spool; a drain thread produces
// the spool's segments, oldest first, and deletes each once every message
// of it was delivered. A message may be delivered twice (a delivery whose
// acknowledgement was lost, then spooled), never zero times while the spool
// has room: consumers deduplicate by key.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/kafka/producer.h"
#include "libs/kafka/spool.h"

namespace sluice::kafka {

class SpooledTopic {
 public:
  struct Stats {
    // Messages appended to the spool, produced from it, and refused by a
    // full spool (lost).
    int64_t spooled = 0;
    int64_t delivered_from_spool = 0;
    int64_t dropped = 0;
    // What waits in the spool now.
    int64_t spool_records = 0;
    int64_t spool_bytes = 0;
  };

  // `producer` must outlive this and any delivery callback it still holds
  // (the spool itself stays alive until the last one ran). Starts the drain
  // thread, which first produces what a previous process spooled.
  // `on_stats` (optional) runs on the drain thread about ten times a second
  // with the current figures (for gauges).
  static absl::StatusOr<std::unique_ptr<SpooledTopic>> Create(
      Producer* producer, std::string topic, Spool::Options spool,
      std::function<void(const Stats&)> on_stats = nullptr);
  // Stops draining; what is not delivered stays spooled for the next start.
  ~SpooledTopic();

  // Enqueues the message, or spools it when the producer's queue is full.
  // `on_durable` (optional) runs once the message is delivered or in the
  // spool (or lost for good: refused by the broker as invalid, or by a full
  // spool), on whichever thread saw that.
  void Write(absl::string_view key, absl::string_view value,
             std::function<void()> on_durable = nullptr);

  Stats stats() const;

 private:
  SpooledTopic(Producer* producer, std::string topic,
               std::shared_ptr<Spool> spool)
      : producer_(producer),
        topic_(std::move(topic)),
        spool_(std::move(spool)) {}
  void DrainLoop();
  // Produces one segment's records and waits for their outcome; whether
  // every one was delivered (false also when stopping).
  bool DrainSegment(const Spool::Segment& segment);

  Producer* producer_;
  const std::string topic_;
  // Shared with delivery callbacks, which may run after this is gone (the
  // producer fails what it still holds when it is destroyed).
  std::shared_ptr<Spool> spool_;
  std::shared_ptr<std::atomic<int64_t>> spooled_ =
      std::make_shared<std::atomic<int64_t>>(0);
  std::atomic<int64_t> delivered_from_spool_{0};
  std::function<void(const Stats&)> on_stats_;
  absl::Notification stop_;
  std::thread drainer_;
};

}  // namespace sluice::kafka
