// A provider's configured timeouts applied to one upstream call, with our
// defaults for those the config leaves unset.
#pragma once

#include "libs/upstream/http_client.h"
#include "sluice/v1/config.pb.h"

namespace sluice::adapters {

// connect 5 s, first byte 60 s, total 10 min (never past the caller's
// `deadline`); a stream also gets a stall timeout (30 s).
void ApplyTimeouts(const sluice::v1::ProviderTimeouts& timeouts, bool stream,
                   absl::Time deadline, upstream::HttpRequest& request);

}  // namespace sluice::adapters
