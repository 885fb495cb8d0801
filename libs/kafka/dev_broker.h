// The Kafka dev broker: librdkafka's mock cluster, real Kafka-protocol
// listeners on loopback that any client (kcat too) can use. In memory only:
// for tests and the single-machine default, never for production.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::kafka {

class DevBroker {
 public:
  static absl::StatusOr<std::unique_ptr<DevBroker>> Start(int num_brokers = 1);
  ~DevBroker();

  const std::string& bootstrap_servers() const { return bootstrap_; }
  absl::Status CreateTopic(absl::string_view topic, int partitions);
  // For tests' fault injection (rd_kafka_mock_push_request_errors, ...).
  rd_kafka_mock_cluster_t* mock_cluster() { return cluster_; }

 private:
  DevBroker(rd_kafka_t* owner, rd_kafka_mock_cluster_t* cluster);

  rd_kafka_t* owner_;
  rd_kafka_mock_cluster_t* cluster_;
  std::string bootstrap_;
};

}  // namespace sluice::kafka
