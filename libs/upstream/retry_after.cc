#include "libs/upstream/retry_after.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace sluice::upstream {

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  double seconds = 0;
  if (absl::SimpleAtod(value, &seconds)) {
    if (seconds < 0 || seconds > 86400 * 7) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string error;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), &when,
                      &error)) {
    return std::max(absl::ZeroDuration(), when - now);
  }
  return std::nullopt;
}

absl::Duration BackoffWithFullJitter(int attempt, absl::Duration base,
                                     absl::Duration cap,
                                     const std::function<double()>& uniform01) {
  absl::Duration ceiling = base;
  for (int i = 0; i < attempt && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  return ceiling * uniform01();
}

}  // namespace sluice::upstream
