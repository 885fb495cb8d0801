// A Kafka consumer in a consumer group with manual commits: an offset is
// committed only after the handler accepted its message, so nothing is lost;
// a handler error retries the same message.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/kafka/client_config.h"

namespace sluice::kafka {

struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
};

struct ConsumerOptions {
  std::string brokers;
  std::string group_id;
  std::vector<std::string> topics;
  std::string auto_offset_reset = "earliest";
  KafkaSettings extra;
};

class Consumer {
 public:
  using Handler = std::function<absl::Status(const Message&)>;

  static absl::StatusOr<std::unique_ptr<Consumer>> Create(
      const ConsumerOptions& options);
  ~Consumer();

  // Subscribes and starts the polling thread.
  absl::Status Start(Handler handler);
  // Commits what was handled, leaves the group and joins the thread.
  void Stop();

 private:
  Consumer(rd_kafka_t* handle, std::vector<std::string> topics)
      : handle_(handle), topics_(std::move(topics)) {}
  void Run();

  rd_kafka_t* handle_;
  std::vector<std::string> topics_;
  Handler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  bool closed_ = false;
};

}  // namespace sluice::kafka
