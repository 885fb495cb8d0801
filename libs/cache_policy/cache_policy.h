// Whether a request may be answered from the cache and whether its answer
// may be stored, from the tenant's policy and the request's own say
// (x-sluice-cache: bypass | refresh | force; x-sluice-cache-ttl).
// By default only deterministic requests are cached: temperature 0 or a
// seed (sampling answers differ run to run; serving one again would change
// what the client asked for). A tenant set to "never" is never cached,
// whatever the request says.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/config.pb.h"

namespace sluice::cache_policy {

struct CacheDecision {
  bool read = false;
  bool write = false;
  absl::Duration ttl;
  // Why neither (for the miss reason): "bypass", "not_deterministic",
  // "tenant_never".
  std::string reason;
};

// `policy` may be null (the defaults).
CacheDecision DecideCaching(const sluice::v1::ChatRequest& request,
                            const sluice::v1::CachePolicy* policy);

}  // namespace sluice::cache_policy
