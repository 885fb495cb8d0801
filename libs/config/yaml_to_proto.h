// Maps a YAML document onto any protobuf message by reflection. Errors name
// the source, line and column, and the key path ("providers[1].kind").
#pragma once

#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sluice::config {

// Where each key path ("providers[1].timeouts.stall", "routes[0]") was found
// in the YAML text, so later checks can point at a line too.
using PathMarks = absl::flat_hash_map<std::string, YAML::Mark>;

// YAML keys are field names; enums are written as their value name without
// the enum's prefix, in any case ("openai"), or as the full name;
// google.protobuf.Duration as "250ms", "2s", "1m30s"; repeated fields as
// sequences, map fields as mappings; scalars may use ${VAR} and
// ${VAR:-default}. A null value leaves the field unset. Errors are
// INVALID_ARGUMENT, "source:line:col: path: what". `marks` may be null.
absl::Status YamlToMessage(const YAML::Node& node,
                           google::protobuf::Message* message,
                           absl::string_view source_name,
                           PathMarks* marks = nullptr);

// "source:line:col: " for a mark ("source: " when the mark is unknown).
std::string MarkPrefix(absl::string_view source_name, const YAML::Mark& mark);

}  // namespace sluice::config
