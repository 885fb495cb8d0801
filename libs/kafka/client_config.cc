#include "libs/kafka/client_config.h"

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace sluice::kafka {
namespace {

// librdkafka logs with syslog levels; ours go through spdlog.
void LogToSpdlog(const rd_kafka_t*, int level, const char* facility,
                 const char* message) {
  spdlog::level::level_enum ours = level <= 3   ? spdlog::level::err
                                   : level == 4 ? spdlog::level::warn
                                   : level <= 6 ? spdlog::level::info
                                                : spdlog::level::debug;
  spdlog::log(ours, "kafka {}: {}", facility, message);
}

}  // namespace

absl::StatusOr<rd_kafka_conf_t*> MakeConfig(const KafkaSettings& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, LogToSpdlog);
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
