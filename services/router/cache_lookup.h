// The router's side of a cache lookup: one Lookup call whose events go to
// the handlers, on gRPC's threads. Exactly one of on_hit, on_lead, on_miss
// and on_done ends it (on_chunk may come before on_done or on_miss for a
// follower). A cache that is down, unreachable or failing is a miss
// ("unavailable"): the request goes upstream as if there was no cache.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "sluice/v1/cache.grpc.pb.h"

namespace sluice::router {

struct CacheLookupHandlers {
  std::function<void(sluice::v1::CachedAnswer)> on_hit;
  std::function<void(std::string lease)> on_lead;
  // `bypass`: the request was never to be served from the cache (as the
  // cache service decided); else a miss ("leader_failed", "unavailable").
  std::function<void(bool bypass)> on_miss;
  std::function<void(sluice::v1::ChatChunk)> on_chunk;
  std::function<void(sluice::v1::ChatResponse)> on_done;
};

// Starts the lookup; the call cleans up after itself. `context` carries the
// deadline and cancellation.
void StartCacheLookup(sluice::v1::Cache::Stub* stub,
                      std::shared_ptr<grpc::ClientContext> context,
                      sluice::v1::CacheLookupRequest request,
                      CacheLookupHandlers handlers);

}  // namespace sluice::router
