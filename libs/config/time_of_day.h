// Times of day in config ("HH:MM", UTC), as in price windows.
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::config {

// Minutes after midnight of "HH:MM" (two digits each, 00:00 to 23:59);
// INVALID_ARGUMENT for anything else.
absl::StatusOr<int> ParseTimeOfDay(absl::string_view text);

}  // namespace sluice::config
