// Retry-After parsing (RFC 9110 section 10.2.3) and full-jitter backoff.
#include "libs/upstream/retry_after.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace sluice::upstream {
namespace {

constexpr absl::Duration kMaxRetryAfter = absl::Hours(24 * 7);

bool IsDecimal(absl::string_view value) {
  int dots = 0;
  for (char c : value) {
    if (c == '.') {
      ++dots;
    } else if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots <= 1 && value != ".";
}

}  // namespace

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (IsDecimal(value)) {
    double seconds = 0;
    if (!absl::SimpleAtod(value, &seconds) || !std::isfinite(seconds) ||
        absl::Seconds(seconds) > kMaxRetryAfter) {
      return std::nullopt;
    }
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string error;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value),
                       absl::UTCTimeZone(), &when, &error)) {
    return std::nullopt;
  }
  absl::Duration wait = std::max(absl::ZeroDuration(), when - now);
  if (wait > kMaxRetryAfter) return std::nullopt;
  return wait;
}

absl::Duration BackoffWithFullJitter(int attempt, absl::Duration base,
                                     absl::Duration cap,
                                     const RandomFn& uniform01) {
  absl::Duration ceiling = std::max(absl::ZeroDuration(), base);
  for (int i = 0; i < attempt && i < 62 && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  if (ceiling <= absl::ZeroDuration()) return absl::ZeroDuration();
  double r = std::clamp(uniform01 ? uniform01() : 0.0, 0.0, 1.0);
  return ceiling * r;
}

}  // namespace sluice::upstream
