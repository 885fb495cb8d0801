// Builds an rd_kafka_conf_t from key/value pairs (applied in order, so a
// later pair overrides an earlier one), reporting the first bad setting by
// name.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::kafka {

using KafkaSettings = std::vector<std::pair<std::string, std::string>>;

// Logs go to spdlog. The caller owns the result (rd_kafka_new takes it on
// success).
absl::StatusOr<rd_kafka_conf_t*> MakeConfig(const KafkaSettings& settings);

}  // namespace sluice::kafka
