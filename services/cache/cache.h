// The Cache component: exact-match answers per tenant, shared across
// identical requests in flight (single-flight). Co-hosted callers hold the
// implementation (cache_impl.h), others a gRPC client (cache_client.h).
#pragma once

#include <string>

#include "absl/functional/any_invocable.h"
#include "libs/host/call_context.h"
#include "libs/host/sink.h"
#include "sluice/v1/cache.pb.h"

namespace sluice::cache {

inline constexpr char kServiceName[] = "cache";

// The leader's side of a flight: its answer goes in as it streams out
// (followers see it live), then whole (stored when whole) or abandoned.
// Never fails the request: trouble on the cache's side drops what follows.
class CacheFill {
 public:
  virtual ~CacheFill() = default;
  virtual void Chunk(const sluice::v1::ChatChunk& chunk) = 0;
  // Ends the fill with the whole answer...
  virtual void Answer(const sluice::v1::ChatResponse& response) = 0;
  // ...or without one (the request failed).
  virtual void Abandon() = 0;
  // The owner lets go (a fill not ended is abandoned) and the object goes
  // once `then` (may be empty) has run: when the cache has taken the answer
  // (bounded: at most about a second), so that the client's next identical
  // request finds it stored. `then` may run inline.
  virtual void Close(absl::AnyInvocable<void() &&> then) = 0;
};

class Cache {
 public:
  virtual ~Cache() = default;
  // Exactly one of a hit, a lease (the caller leads: it must StartFill()),
  // a miss, or, for a follower, the leader's chunks then its whole answer
  // (done) or a miss (the leader failed). Then Done(OK).
  virtual void Lookup(host::CallContextPtr context,
                      sluice::v1::CacheLookupRequest request,
                      host::Sink<sluice::v1::CacheEvent>* sink) = 0;
  // The fill of the flight `lease` names; the caller owns it until Close().
  virtual CacheFill* StartFill(host::CallContextPtr context,
                               std::string lease) = 0;
  virtual void Invalidate(
      host::CallContextPtr context, sluice::v1::CacheInvalidateRequest request,
      host::Callback<sluice::v1::CacheInvalidateResponse> done) = 0;
  virtual void Stats(host::CallContextPtr context,
                     sluice::v1::CacheStatsRequest request,
                     host::Callback<sluice::v1::CacheStatsResponse> done) = 0;
};

}  // namespace sluice::cache
