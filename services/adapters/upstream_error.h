// Turns a provider's non-2xx answer into a status that keeps what matters
// (message, type, code, Retry-After) and never the request's secrets.
#pragma once

#include "absl/strings/string_view.h"
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/upstream/http_client.h"

namespace sluice::adapters {

absl::Status UpstreamHttpError(absl::string_view provider,
                               const upstream::HttpResponseHead& head,
                               absl::string_view body, absl::Time now);

}  // namespace sluice::adapters
