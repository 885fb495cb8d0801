// A provider's limits shared by every scheduler replica through Redis: a
// concurrency cap as leases (a sorted set of lease ids by expiry, so a
// replica that dies without releasing frees its slots when they expire)
// and requests and tokens per minute as token buckets, both checked and
// taken in one Lua script on Redis's clock. The replicas' own queues then
// decide who goes first; Redis only says whether the provider has room.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

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

  // Granted: the lease to release. Not granted: when to ask again (a
  // slot's release is not announced, so a full cap asks again soon).
  struct Answer {
    bool granted = false;
    std::string lease;
    absl::Duration retry_after = absl::ZeroDuration();
  };
  // Runs `done` once, on the Redis client's thread; a status when Redis
  // could not answer.
  void Acquire(int64_t tokens, std::function<void(absl::StatusOr<Answer>)> done);
  // Frees the lease and settles the token bucket to what was used
  // (fire and forget: an expired lease frees itself).
  void Release(const std::string& lease, int64_t charged_tokens, int64_t used_tokens);

 private:
  redis::RedisClient* const redis_;
  const std::string leases_key_;
  const std::string bucket_key_;
  const TargetLimitsConfig limits_;
  const absl::Duration lease_ttl_;
};

}  // namespace sluice::scheduler
