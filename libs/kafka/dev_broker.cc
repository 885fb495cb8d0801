#include "libs/kafka/dev_broker.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "libs/kafka/client_config.h"

namespace sluice::kafka {
namespace {

// The owning handle has no bootstrap servers on purpose; its CONFWARN about
// that is noise.
void QuietLog(const rd_kafka_t*, int level, const char* facility,
              const char* message) {
  if (level <= 3 && absl::string_view(facility) != "CONFWARN") {
    fprintf(stderr, "kafka dev broker: %s: %s\n", facility, message);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<DevBroker>> DevBroker::Start(int num_brokers) {
  absl::StatusOr<rd_kafka_conf_t*> conf =
      MakeConfig({{"client.id", "sluice-dev-broker"}});
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_log_cb(*conf, QuietLog);
  char error[512];
  rd_kafka_t* owner =
      rd_kafka_new(RD_KAFKA_PRODUCER, *conf, error, sizeof(error));
  if (owner == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InternalError(absl::StrCat("kafka dev broker: ", error));
  }
  rd_kafka_mock_cluster_t* cluster =
      rd_kafka_mock_cluster_new(owner, num_brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(owner);
    return absl::InternalError("kafka dev broker: mock cluster did not start");
  }
  return std::unique_ptr<DevBroker>(new DevBroker(owner, cluster));
}

DevBroker::DevBroker(rd_kafka_t* owner, rd_kafka_mock_cluster_t* cluster)
    : owner_(owner),
      cluster_(cluster),
      bootstrap_(rd_kafka_mock_cluster_bootstraps(cluster)) {}

DevBroker::~DevBroker() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(owner_);
}

absl::Status DevBroker::CreateTopic(absl::string_view topic, int partitions) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
      cluster_, std::string(topic).c_str(), partitions, 1);
  if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return absl::AlreadyExistsError(absl::StrCat("topic ", topic, " exists"));
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(
        absl::StrCat("create topic ", topic, ": ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

}  // namespace sluice::kafka
