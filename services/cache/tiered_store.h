// The two tiers: L1 in this process, L2 in Redis (shared by every cache
// replica, survives restarts). A read tries L1, then L2 (and keeps an L2
// hit in L1 for the rest of its TTL); a write goes to both. Redis trouble
// (down, slow past its command timeout, a corrupt entry) is a miss, counted
// in sluice_cache_l2_errors_total: never an error for the request. With
// Redis, invalidations reach every replica's L1 through an InvalidationLog.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "libs/obs/metrics.h"
#include "libs/redis/redis_client.h"
#include "services/cache/invalidation_log.h"
#include "services/cache/l1_cache.h"
#include "sluice/v1/cache.pb.h"

namespace sluice::cache {

class TieredStore {
 public:
  // `redis` may be null (L1 only). Both must outlive the store.
  TieredStore(L1Cache* l1, redis::RedisClient* redis);

  using GetCallback = std::function<void(
      std::optional<sluice::v1::CachedAnswer>, absl::string_view tier)>;
  // Calls `done` exactly once, maybe before returning, maybe on Redis's
  // thread: the answer and "l1" or "l2", or nullopt.
  void Get(const std::string& key, const std::string& tenant,
           const std::string& model, GetCallback done);
  // False when the answer is too big to keep.
  bool Put(const std::string& key, const std::string& tenant,
           const std::string& model, const sluice::v1::CachedAnswer& answer,
           absl::Duration ttl);
  // Entries of `tenant` and `model` (empty: all) in both tiers, and in
  // every other replica's L1 within about a poll; `done` gets this
  // replica's counts (L2's -1 when Redis could not be reached).
  void Invalidate(const std::string& tenant, const std::string& model,
                  std::function<void(int64_t l1, int64_t l2)> done);
  // Drops this replica's L1 entries of the scope, and keeps L2 reads in
  // flight from putting what they read into L1 (they may predate it).
  // Returns the entries dropped.
  int64_t ForgetLocally(const std::string& tenant, const std::string& model);
  // Whether other replicas' invalidations reach this one now (with Redis).
  bool following_invalidations() const {
    return log_ != nullptr && log_->following();
  }
  // Stops following other replicas' invalidations (before Redis goes).
  void StopFollowing() { log_.reset(); }

  L1Cache& l1() { return *l1_; }
  bool l2_connected() const;

  // The Redis key of an entry: tenant and model readable (and escaped), so
  // that invalidation can find them with SCAN MATCH.
  static std::string RedisKey(const std::string& key, const std::string& tenant,
                              const std::string& model);
  static std::string RedisPattern(const std::string& tenant,
                                  const std::string& model);

 private:
  void ScanAndDelete(std::string cursor, std::string pattern, int64_t deleted,
                     std::function<void(int64_t)> done);

  L1Cache* l1_;
  redis::RedisClient* redis_;
  // Bumped by every invalidation: an L2 read that began before one does
  // not fill L1.
  std::atomic<uint64_t> generation_{0};
  std::unique_ptr<InvalidationLog> log_;  // with Redis only
  obs::Counter& l2_errors_;
  obs::Counter& l2_hits_;
};

}  // namespace sluice::cache
