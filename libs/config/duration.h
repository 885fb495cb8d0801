// A config duration (google.protobuf.Duration) as absl::Duration, where an
// unset (zero) value means "the default".
#pragma once

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace sluice::config {

inline absl::Duration DurationOr(const google::protobuf::Duration& d,
                                 absl::Duration fallback) {
  if (d.seconds() == 0 && d.nanos() == 0) return fallback;
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace sluice::config
