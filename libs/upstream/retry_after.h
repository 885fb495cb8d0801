// Retry-After parsing and exponential backoff with full jitter, for retrying
// upstream calls.
#pragma once

#include <functional>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sluice::upstream {

// Returns a number uniform in [0, 1); injected so tests are repeatable.
using RandomFn = std::function<double()>;

// A Retry-After value: delay-seconds ("2", "1.5") or an IMF-fixdate HTTP date
// ("Wed, 21 Oct 2015 07:28:00 GMT"), which gives max(0, date - now).
// nullopt for anything else, a negative number, or more than a week.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now);

// Uniform in [0, min(cap, base * 2^attempt)] (attempt counts from 0).
absl::Duration BackoffWithFullJitter(int attempt, absl::Duration base,
                                     absl::Duration cap,
                                     const RandomFn& uniform01);

}  // namespace sluice::upstream
