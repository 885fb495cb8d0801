// Config timeouts → HttpRequest; see call_timeouts.h.
#include "services/adapters/call_timeouts.h"

namespace sluice::adapters {
namespace {

absl::Duration DurationOr(const google::protobuf::Duration& d,
                          absl::Duration fallback) {
  if (d.seconds() == 0 && d.nanos() == 0) return fallback;
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

void ApplyTimeouts(const sluice::v1::ProviderTimeouts& timeouts, bool stream,
                   upstream::HttpRequest& request) {
  request.connect_timeout = DurationOr(timeouts.connect(), absl::Seconds(5));
  request.first_byte_timeout =
      DurationOr(timeouts.first_token(), absl::Seconds(60));
  request.total_timeout = DurationOr(timeouts.total(), absl::Minutes(10));
  if (stream) {
    request.stall_timeout = DurationOr(timeouts.stall(), absl::Seconds(30));
  }
}

}  // namespace sluice::adapters
