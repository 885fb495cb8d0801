// Config timeouts → HttpRequest; see call_timeouts.h.
#include "services/adapters/call_timeouts.h"

#include <algorithm>

#include "libs/config/duration.h"

namespace sluice::adapters {
void ApplyTimeouts(const sluice::v1::ProviderTimeouts& timeouts, bool stream,
                   absl::Time deadline, upstream::HttpRequest& request) {
  request.connect_timeout =
      sluice::config::DurationOr(timeouts.connect(), absl::Seconds(5));
  request.first_byte_timeout =
      sluice::config::DurationOr(timeouts.first_token(), absl::Seconds(60));
  request.total_timeout =
      sluice::config::DurationOr(timeouts.total(), absl::Minutes(10));
  if (deadline != absl::InfiniteFuture()) {
    request.total_timeout =
        std::clamp(deadline - absl::Now(), absl::Milliseconds(1),
                   request.total_timeout);
  }
  if (stream) {
    request.stall_timeout =
        sluice::config::DurationOr(timeouts.stall(), absl::Seconds(30));
  }
}

}  // namespace sluice::adapters
