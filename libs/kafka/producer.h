// An idempotent Kafka producer. Produce() never blocks the caller for long:
// it enqueues, and a background thread serves delivery reports.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/kafka/client_config.h"

namespace sluice::kafka {

struct ProducerOptions {
  std::string brokers;
  std::string client_id = "sluice";
  KafkaSettings extra;
};

class Producer {
 public:
  using DeliveryCallback = std::function<void(absl::Status)>;

  static absl::StatusOr<std::unique_ptr<Producer>> Create(
      const ProducerOptions& options);
  ~Producer();

  // `on_delivery` runs on the producer's thread with the final outcome.
  void Produce(absl::string_view topic, absl::string_view key,
               absl::string_view value, DeliveryCallback on_delivery = nullptr);
  absl::Status Flush(absl::Duration timeout);

 private:
  explicit Producer(rd_kafka_t* handle);
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*);

  rd_kafka_t* handle_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

}  // namespace sluice::kafka
