// An idempotent Kafka producer. Produce() enqueues and returns; a background
// thread polls the client so that delivery reports (the final outcome of each
// message) run there.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/kafka/client_config.h"

namespace sluice::kafka {

struct ProducerOptions {
  std::string brokers;
  std::string client_id = "sluice";
  // Applied after the defaults (enable.idempotence=true, acks=all,
  // linger.ms=5), so they can override them.
  KafkaSettings extra;
  // Topic-level settings (message.timeout.ms, ...) for the topics named.
  std::map<std::string, KafkaSettings> topic_settings;
};

class Producer {
 public:
  using DeliveryCallback = std::function<void(absl::Status)>;

  static absl::StatusOr<std::unique_ptr<Producer>> Create(
      const ProducerOptions& options);
  // Flushes (bounded), fails what is still queued through its callback and
  // stops the poll thread.
  ~Producer();

  // Enqueues a copy of the message. `on_delivery` (optional) runs once on the
  // producer's thread with the final outcome; a message the client cannot
  // accept (queue full for too long, bad topic) is reported the same way,
  // possibly before Produce returns. Never drops silently.
  void Produce(absl::string_view topic, absl::string_view key,
               absl::string_view value, DeliveryCallback on_delivery = nullptr);
  // The same, never waiting: a message the local queue cannot take now is
  // refused with RESOURCE_EXHAUSTED (and `on_delivery` is not called); for
  // callers that must not block (the request path) and keep the message
  // elsewhere instead.
  absl::Status TryProduce(absl::string_view topic, absl::string_view key,
                          absl::string_view value,
                          DeliveryCallback on_delivery = nullptr);
  // Waits until every enqueued message has its delivery report served. Do not
  // call it from a delivery callback.
  absl::Status Flush(absl::Duration timeout);

 private:
  explicit Producer(rd_kafka_t* handle) : Producer(handle, {}) {}
  Producer(rd_kafka_t* handle, std::vector<rd_kafka_topic_t*> topics);
  // One rd_kafka_producev call; the callback is owned by the message on
  // success and by the caller otherwise.
  rd_kafka_resp_err_t Enqueue(const std::string& topic, absl::string_view key,
                              absl::string_view value,
                              DeliveryCallback* callback);
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*);
  void PollLoop();

  rd_kafka_t* handle_;
  // Topics created with their own settings (kept so the settings hold).
  std::vector<rd_kafka_topic_t*> topics_;
  std::atomic<bool> stop_{false};
  // Touched by the poll thread after each poll so Flush re-checks the queue.
  absl::Mutex mu_;
  std::thread poller_;
};

}  // namespace sluice::kafka
