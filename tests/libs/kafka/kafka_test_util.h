// Helpers shared by the Kafka tests: fast client settings for the mock
// cluster, a message collector that tests wait on with a deadline, and a
// count of the messages stored in a topic.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"

namespace sluice::kafka::testing {

inline ProducerOptions FastProducer(const std::string& brokers) {
  ProducerOptions options;
  options.brokers = brokers;
  options.client_id = "kafka-test";
  options.extra = {{"session.timeout.ms", "4500"},
                   {"heartbeat.interval.ms", "300"},
                   {"topic.metadata.refresh.interval.ms", "200"},
                   {"fetch.wait.max.ms", "50"}};
  return options;
}

// Shorter session and heartbeat than the defaults: the mock coordinator's
// rebalances wait about a session timeout. Its first join waits 3 s, during
// which the session must not expire (1.5 s never joins).
inline ConsumerOptions FastConsumer(const std::string& brokers,
                                    const std::string& group,
                                    std::vector<std::string> topics) {
  ConsumerOptions options;
  options.brokers = brokers;
  options.group_id = group;
  options.topics = std::move(topics);
  options.extra = {{"session.timeout.ms", "4500"},
                   {"heartbeat.interval.ms", "300"},
                   {"topic.metadata.refresh.interval.ms", "200"},
                   {"fetch.wait.max.ms", "50"}};
  return options;
}

// Collects what a consumer's handler receives.
class Collector {
 public:
  Consumer::Handler Handler() {
    return [this](const Message& message) {
      absl::MutexLock lock(&mu_);
      messages_.push_back(message);
      return absl::OkStatus();
    };
  }
  // Waits until at least `n` messages arrived; returns how many did.
  size_t WaitFor(size_t n, absl::Duration timeout) {
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return messages_.size() >= n;
    };
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return messages_.size();
  }
  std::vector<Message> messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Message> messages_ ABSL_GUARDED_BY(mu_);
};

// Counts delivery reports; tests wait until all came back.
class DeliveryCounter {
 public:
  Producer::DeliveryCallback Callback() {
    return [this](absl::Status status) {
      absl::MutexLock lock(&mu_);
      if (status.ok()) {
        ++ok_;
      } else {
        errors_.push_back(status);
      }
    };
  }
  // Waits until `n` reports arrived; returns the number of OK ones.
  int WaitFor(int n, absl::Duration timeout) {
    auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return ok_ + static_cast<int>(errors_.size()) >= n;
    };
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
    return ok_;
  }
  std::vector<absl::Status> errors() {
    absl::MutexLock lock(&mu_);
    return errors_;
  }

 private:
  absl::Mutex mu_;
  int ok_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<absl::Status> errors_ ABSL_GUARDED_BY(mu_);
};

// The number of messages stored in `topic` (sum of high watermarks), asked
// of the brokers by a client of its own; -1 on error.
inline int64_t StoredMessages(const std::string& brokers,
                              const std::string& topic, int partitions) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), error,
                    sizeof(error));
  rd_kafka_t* handle =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (handle == nullptr) return -1;
  int64_t total = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0;
    int64_t high = 0;
    if (rd_kafka_query_watermark_offsets(handle, topic.c_str(), p, &low, &high,
                                         5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      total = -1;
      break;
    }
    total += high;
  }
  rd_kafka_destroy(handle);
  return total;
}

}  // namespace sluice::kafka::testing
