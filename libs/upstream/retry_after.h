// Retry-After parsing and backoff with full jitter, for retries upstream.
#pragma once

#include <functional>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sluice::upstream {

// Seconds ("2", "1.5") or an HTTP date; a date in the past gives zero.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now);

// Uniform in [0, min(cap, base * 2^attempt)]; `uniform01` returns [0, 1).
absl::Duration BackoffWithFullJitter(int attempt, absl::Duration base,
                                     absl::Duration cap,
                                     const std::function<double()>& uniform01);

}  // namespace sluice::upstream
