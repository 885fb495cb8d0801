// Rules across the fields of sluice.v1.Config that the schema can't express:
// required values, unique names, references that resolve.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "sluice/v1/config.pb.h"

namespace sluice::config {

// The first problem found: the key path ("routes[2].provider") and what is
// wrong with it ("unknown provider \"x\"").
struct ConfigIssue {
  std::string path;
  std::string problem;
};

std::optional<ConfigIssue> FindConfigIssue(const sluice::v1::Config& config);

// The first problem with `spec`'s price windows, its path relative to the
// spec ("price_windows[1].start"). Also what the router checks them with.
std::optional<ConfigIssue> FindPriceWindowIssue(
    const sluice::v1::ModelSpec& spec);

// INVALID_ARGUMENT "path: problem" for the first issue, OK when none.
absl::Status ValidateConfig(const sluice::v1::Config& config);

}  // namespace sluice::config
