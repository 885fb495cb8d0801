// ${VAR} and ${VAR:-default} in config values, as in a shell: deploy configs
// take addresses and paths from the environment.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::config {

// Replaces ${VAR} with the variable's value and ${VAR:-default} with the value
// or, when VAR is unset or empty, `default`. An unset VAR without a default
// is INVALID_ARGUMENT naming it; text without "${" comes back unchanged.
absl::StatusOr<std::string> ExpandEnv(absl::string_view text);

}  // namespace sluice::config
