// A Kafka consumer in a consumer group with manual commits: an offset is
// stored only after the handler accepted its message and committed
// asynchronously in batches (synchronously on Stop), so nothing is lost; a
// handler error retries the same message with backoff.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "libs/kafka/client_config.h"

namespace sluice::kafka {

struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  // The message's headers, in order (a name may repeat).
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header named `name` (exactly), or empty.
  absl::string_view Header(absl::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
};

struct ConsumerOptions {
  std::string brokers;
  std::string group_id;
  std::vector<std::string> topics;
  std::string auto_offset_reset = "earliest";
  // Applied after the defaults, so they can override them (tests lower
  // session.timeout.ms to make rebalances quick).
  KafkaSettings extra;
  // For a handler that keeps offsets itself, in the same transaction as
  // what it derived from the messages (exactly-once): the offset to resume
  // a partition at, asked on every assignment, on the consumer's thread.
  // nullopt, or no function: the group's committed offset.
  using OffsetLookupFn = std::function<std::optional<int64_t>(
      const std::string& topic, int32_t partition)>;
  OffsetLookupFn stored_offset;
};

class Consumer {
 public:
  // Runs on the consumer's thread, one message at a time.
  using Handler = std::function<absl::Status(const Message&)>;
  // Runs on the consumer's thread with what one poll round brought (one to
  // max_batch messages, in order); an error retries the whole batch.
  using BatchHandler =
      std::function<absl::Status(const std::vector<Message>&)>;

  static absl::StatusOr<std::unique_ptr<Consumer>> Create(
      const ConsumerOptions& options);
  ~Consumer();

  // Subscribes and starts the polling thread. Call once (either).
  absl::Status Start(Handler handler);
  // The same with batches: what is already fetched is handled together
  // (one database transaction for many events, say).
  absl::Status StartBatches(BatchHandler handler, size_t max_batch);
  // Commits what was handled, leaves the group (so it rebalances) and joins
  // the thread; returns within about a poll interval plus the close. Safe to
  // call twice; never from the handler.
  void Stop();

 private:
  Consumer(rd_kafka_t* handle, std::string group,
           std::vector<std::string> topics,
           std::unique_ptr<ConsumerOptions::OffsetLookupFn> stored_offset)
      : handle_(handle),
        group_(std::move(group)),
        topics_(std::move(topics)),
        stored_offset_(std::move(stored_offset)) {}
  void PollLoop();
  // Sets sluice_kafka_consumer_lag{group,topic}: messages in the assigned
  // partitions past this consumer's position (from the high watermarks the
  // fetches brought; no broker round trip).
  void ReportLag();
  // Calls the handler until it accepts the batch or Stop is called;
  // returns whether it was accepted.
  bool Handle(const std::vector<Message>& batch);

  rd_kafka_t* handle_;
  const std::string group_;
  std::vector<std::string> topics_;
  // The rebalance callback's opaque (null function: none).
  std::unique_ptr<ConsumerOptions::OffsetLookupFn> stored_offset_;
  BatchHandler handler_;
  size_t max_batch_ = 1;
  std::atomic<bool> stop_{false};
  absl::Notification stopping_;
  std::thread thread_;
  std::thread lag_thread_;
  bool closed_ = false;
};

}  // namespace sluice::kafka
