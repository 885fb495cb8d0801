// sluice's YAML config file → sluice.v1.Config, checked.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sluice/v1/config.pb.h"

namespace sluice::config {

// Parses and validates. Errors name the file, line and key.
absl::StatusOr<sluice::v1::Config> ParseConfig(
    absl::string_view yaml_text, absl::string_view source_name = "<config>");
absl::StatusOr<sluice::v1::Config> LoadConfigFile(const std::string& path);

// Rules across fields: names unique, references resolve, values in range.
absl::Status ValidateConfig(const sluice::v1::Config& config);

// The embedded defaults of `sluice serve` (the demo simulator as provider).
sluice::v1::Config DefaultConfig();

}  // namespace sluice::config
