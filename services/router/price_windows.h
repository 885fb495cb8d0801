// Prices by time of day: a model's price windows (daily UTC spans with their
// own prices, e.g. DeepSeek's off-peak half price), the prices in force at a
// time, the highest a model ever charges (for reservations), and when a
// batch that may wait is cheapest to start.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sluice/v1/config.pb.h"

namespace sluice::router {

// USD per million tokens (a token at $X per million costs X micro-USD).
struct TokenPrices {
  double input_usd_per_mtok = 0;
  double output_usd_per_mtok = 0;
  // Never 0 for "none": the input price stands in for a missing one.
  double cached_input_usd_per_mtok = 0;
  // Never 0 for "none": the output price stands in for a missing one.
  double reasoning_usd_per_mtok = 0;

  bool operator==(const TokenPrices&) const = default;
};

// The prices of `spec` at `at`: those of the first window that holds it
// (start inclusive, end exclusive, UTC), else the spec's own. A cached-input
// price of 0 is the input price of the same window (or of the spec), a
// reasoning price of 0 its output price.
TokenPrices PricesAt(const sluice::v1::ModelSpec& spec, absl::Time at);

// Per component, the highest of the spec's own prices and all its windows':
// a reservation at these is never too small, whenever the call is priced.
TokenPrices HighestPrices(const sluice::v1::ModelSpec& spec);

// INVALID_ARGUMENT naming the model and the field for a window whose start
// or end is not "HH:MM", whose start equals its end, or with a negative
// price. (The config loader runs the same check at boot.)
absl::Status ValidatePriceWindows(const sluice::v1::ModelSpec& spec);

// The earliest time in [earliest, latest] at which the prices of `specs`,
// input plus output per million tokens summed over all of them, are lowest:
// `earliest` itself or a window's start or end after it. `earliest` when
// latest < earliest or no window makes waiting cheaper.
absl::Time CheapestStart(const std::vector<const sluice::v1::ModelSpec*>& specs,
                         absl::Time earliest, absl::Time latest);

// The first time after `after` at which some price of `specs` changes;
// absl::InfiniteFuture() when none ever does.
absl::Time NextPriceChange(
    const std::vector<const sluice::v1::ModelSpec*>& specs, absl::Time after);

}  // namespace sluice::router
