// Config timeouts → HttpRequest; see call_timeouts.h.
#include "services/adapters/call_timeouts.h"

#include "libs/config/duration.h"

namespace sluice::adapters {
void ApplyTimeouts(const sluice::v1::ProviderTimeouts& timeouts, bool stream,
                   upstream::HttpRequest& request) {
  request.connect_timeout =
      sluice::config::DurationOr(timeouts.connect(), absl::Seconds(5));
  request.first_byte_timeout =
      sluice::config::DurationOr(timeouts.first_token(), absl::Seconds(60));
  request.total_timeout =
      sluice::config::DurationOr(timeouts.total(), absl::Minutes(10));
  if (stream) {
    request.stall_timeout =
        sluice::config::DurationOr(timeouts.stall(), absl::Seconds(30));
  }
}

}  // namespace sluice::adapters
