// Maps a YAML document onto any protobuf message by reflection. Errors name
// the source, line and column, and the key path ("providers[1].kind").
#pragma once

#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sluice::config {

// YAML keys are field names; enums are written as their value name without
// the enum's prefix, in any case; google.protobuf.Duration as "250ms", "2s";
// strings may use ${VAR} and ${VAR:-default}.
absl::Status YamlToMessage(const YAML::Node& node,
                           google::protobuf::Message* message,
                           absl::string_view source_name);

}  // namespace sluice::config
