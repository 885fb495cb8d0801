#include "libs/ratelimit/sliding_window.h"

#include <algorithm>
#include <cmath>

namespace sluice::ratelimit {

// Everything is scaled by window_ms so that the weighted sum stays in
// integers: used * W = current * W + previous * (W - elapsed).
bool Fits(int64_t limit, WindowCounts counts, int64_t cost, WindowPosition at) {
  const int64_t w = at.window_ms;
  return (counts.current + cost) * w + counts.previous * (w - at.elapsed_ms) <=
         limit * w;
}

int64_t Remaining(int64_t limit, WindowCounts counts, WindowPosition at) {
  const int64_t w = at.window_ms;
  const int64_t room =
      limit * w - counts.current * w - counts.previous * (w - at.elapsed_ms);
  return std::max<int64_t>(0, room / w);
}

int64_t RetryAfterMs(int64_t limit, WindowCounts counts, int64_t cost,
                     WindowPosition at) {
  if (cost > limit) return -1;
  const double w = static_cast<double>(at.window_ms);
  const int64_t to_next = at.window_ms - at.elapsed_ms;
  // Within this window, as the previous window's share decays.
  const int64_t room_now = limit - counts.current - cost;
  if (room_now >= 0 && counts.previous > 0) {
    const int64_t t = static_cast<int64_t>(
        std::ceil(static_cast<double>(to_next) -
                  static_cast<double>(room_now) * w /
                      static_cast<double>(counts.previous)));
    if (t < to_next) return std::max<int64_t>(t, 1);
  }
  // In the next window, where today's count becomes the decaying one.
  int64_t into_next = 0;
  if (counts.current > 0) {
    into_next = std::max<int64_t>(
        0, static_cast<int64_t>(
               std::ceil(w - static_cast<double>(limit - cost) * w /
                                 static_cast<double>(counts.current))));
  }
  return to_next + into_next;
}

int64_t ResetMs(WindowCounts counts, WindowPosition at) {
  if (counts.current > 0) return 2 * at.window_ms - at.elapsed_ms;
  if (counts.previous > 0) return at.window_ms - at.elapsed_ms;
  return 0;
}

}  // namespace sluice::ratelimit
