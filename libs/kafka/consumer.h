// A Kafka consumer in a consumer group with manual commits: an offset is
// stored only after the handler accepted its message and committed
// asynchronously in batches (synchronously on Stop), so nothing is lost; a
// handler error retries the same message with backoff. Batches may be
// handled several at once (a pipeline): offsets are still stored in poll
// order, each batch's only once every batch polled before it was accepted.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
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
  // (one database transaction for many events, say). With `in_flight` > 1
  // the handler runs on that many threads of the consumer's, on up to that
  // many batches at once (it must then be thread-safe): the next batch is
  // polled as soon as a handler is free, so a slow message holds up its
  // batch's thread and the commit of what came after it, not the flow
  // (until 16 × in_flight batches wait behind it).
  absl::Status StartBatches(BatchHandler handler, size_t max_batch,
                            size_t in_flight = 1);
  // Commits what was handled, leaves the group (so it rebalances) and joins
  // the thread; returns within about a poll interval plus the close. Safe to
  // call twice; never from the handler.
  void Stop();

 private:
  // A polled batch, from its dispatch until its offsets are stored.
  struct Batch {
    std::vector<rd_kafka_message_t*> raws;
    std::vector<Message> messages;
    bool done = false;      // the handler returned (under mu_)
    bool accepted = false;  // ...and accepted it
  };

  Consumer(std::string group, std::vector<std::string> topics,
           ConsumerOptions::OffsetLookupFn stored_offset)
      : group_(std::move(group)),
        topics_(std::move(topics)),
        stored_offset_(std::move(stored_offset)) {}
  // librdkafka's rebalance callback (opaque: the consumer).
  static void OnRebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions,
                          void* opaque);
  void PollLoop();
  void HandlerLoop();
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands `batch` to a handler thread (none: handles it here).
  void Dispatch(std::unique_ptr<Batch> batch);
  // Stores the offsets of the batches done at the front of the pipeline,
  // in poll order, and frees them; commits every kCommitEvery messages.
  // Consumer thread only (librdkafka calls).
  void StoreDone();
  // Waits until every dispatched batch is done, then stores (before
  // partitions are given up: their next owner starts after them).
  void Drain();
  // Sets sluice_kafka_consumer_lag{group,topic}: messages in the assigned
  // partitions past this consumer's position (from the high watermarks the
  // fetches brought; no broker round trip).
  void ReportLag();
  // Calls the handler until it accepts the batch or Stop is called;
  // returns whether it was accepted.
  bool Handle(const std::vector<Message>& batch);

  rd_kafka_t* handle_ = nullptr;
  const std::string group_;
  std::vector<std::string> topics_;
  const ConsumerOptions::OffsetLookupFn stored_offset_;  // may be empty
  BatchHandler handler_;
  size_t max_batch_ = 1;
  size_t in_flight_ = 1;
  std::atomic<bool> stop_{false};
  absl::Notification stopping_;

  absl::Mutex mu_;
  // Dispatched batches in poll order, until their offsets are stored: at
  // most in_flight_ being handled, and kPipelinedPerHandler × in_flight_ in
  // all (done ones wait for a slow one before them).
  std::deque<std::unique_ptr<Batch>> pipeline_ ABSL_GUARDED_BY(mu_);
  size_t handling_ ABSL_GUARDED_BY(mu_) = 0;
  // Those no handler thread took yet.
  std::deque<Batch*> to_handle_ ABSL_GUARDED_BY(mu_);
  bool handlers_quit_ ABSL_GUARDED_BY(mu_) = false;
  // Consumer thread only: handled messages not committed yet, and whether
  // a batch was refused (nothing after it may be stored then).
  int uncommitted_ = 0;
  bool refused_ = false;

  std::vector<std::thread> handlers_;
  std::thread thread_;
  std::thread lag_thread_;
  bool closed_ = false;
};

}  // namespace sluice::kafka
