// A provider's limits shared by every scheduler replica through Redis: a
// concurrency cap as leases (a sorted set of lease ids by expiry, so a
// replica that dies without releasing frees its slots when they expire)
// and requests and tokens per minute as token buckets, both checked and
// taken in one Lua script on Redis's clock. The replicas' own queues then
// decide who goes first; Redis only says whether the provider has room.
//
// One ask is for a group of calls (a micro-batch toward a worker, or the
// calls a replica could start at once): Redis grants the first ones that
// fit, in order, in one round trip. Batch calls also hold leases in a
// second set, capped one below the provider's cap (when it is above one),
// so that across replicas batch work always leaves an interactive call a
// slot, as each replica's own queue does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/redis/redis_client.h"
#include "services/scheduler/target_limits.h"

namespace sluice::scheduler {

class SharedGate {
 public:
  // `redis` outlives the gate. `lease_ttl`: the longest a call holds a
  // slot (its deadline should come first).
  SharedGate(redis::RedisClient* redis, std::string provider,
             const TargetLimitsConfig& limits,
             absl::Duration lease_ttl = absl::Minutes(10));

  // The leases of the first calls asked for, in order: all of them, some,
  // or none. When not all: when to ask again for the rest (a slot's
  // release is not announced, so a full cap asks again soon).
  struct Answer {
    std::vector<std::string> leases;
    absl::Duration retry_after = absl::ZeroDuration();
  };
  // Asks for one slot per call; `tokens` holds what each call charges the
  // token bucket, in the order the calls should go. `batch`: the calls are
  // batch calls (see above). Runs `done` once, on the Redis client's
  // thread; a status when Redis could not answer.
  void Acquire(const std::vector<int64_t>& tokens, bool batch,
               std::function<void(absl::StatusOr<Answer>)> done);
  // Frees the lease and settles the token bucket to what was used
  // (fire and forget: an expired lease frees itself).
  void Release(const std::string& lease, int64_t charged_tokens, int64_t used_tokens);

 private:
  redis::RedisClient* const redis_;
  const std::string leases_key_;
  const std::string batch_leases_key_;
  const std::string bucket_key_;
  const TargetLimitsConfig limits_;
  const absl::Duration lease_ttl_;
};

}  // namespace sluice::scheduler
