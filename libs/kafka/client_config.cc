#include "libs/kafka/client_config.h"

#include "absl/strings/str_cat.h"

namespace sluice::kafka {

absl::StatusOr<rd_kafka_conf_t*> MakeConfig(const KafkaSettings& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error,
                          sizeof(error)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(
          absl::StrCat("kafka setting ", key, ": ", error));
    }
  }
  return conf;
}

}  // namespace sluice::kafka
