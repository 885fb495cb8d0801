// sluice's YAML config file → sluice.v1.Config, checked.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/config/config_validation.h"
#include "sluice/v1/config.pb.h"

namespace sluice::config {

// Parses and validates. Errors are INVALID_ARGUMENT and name the source, line
// and key path: "config.yaml:12:5: providers[1].timeouts.stall: ...".
absl::StatusOr<sluice::v1::Config> ParseConfig(
    absl::string_view yaml_text, absl::string_view source_name = "<config>");

// ParseConfig on a file's contents; NOT_FOUND when it can't be read.
absl::StatusOr<sluice::v1::Config> LoadConfigFile(const std::string& path);

// The embedded defaults of `sluice serve` (the demo simulator as provider).
sluice::v1::Config DefaultConfig();

}  // namespace sluice::config
