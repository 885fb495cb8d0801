// The arithmetic of the two-fixed-window approximation of a sliding window,
// in integer milliseconds. The Lua script in redis_limiter_script.cc does
// the same in Lua; the parity test keeps the two in step.
//
// Windows are aligned to multiples of `window_ms` since the epoch; at
// `elapsed_ms` into the current window the sliding window still holds
// (window_ms - elapsed_ms) / window_ms of the previous window's count.
#pragma once

#include <cstdint>

namespace sluice::ratelimit {

struct WindowCounts {
  int64_t current = 0;
  int64_t previous = 0;
};

struct WindowPosition {
  int64_t window_ms = 0;
  int64_t elapsed_ms = 0;  // into the current window, [0, window_ms)
};

// Whether `cost` more fits under `limit`.
bool Fits(int64_t limit, WindowCounts counts, int64_t cost, WindowPosition at);

// Room left under `limit` (never negative).
int64_t Remaining(int64_t limit, WindowCounts counts, WindowPosition at);

// The wait until `cost` fits, if nothing else is charged meanwhile; -1 when
// it never fits (cost > limit). Called only when it does not fit now.
int64_t RetryAfterMs(int64_t limit, WindowCounts counts, int64_t cost,
                     WindowPosition at);

// The wait until nothing counted so far is in the sliding window.
int64_t ResetMs(WindowCounts counts, WindowPosition at);

}  // namespace sluice::ratelimit
