// The two tiers: L1 in this process, L2 in Redis (shared by every cache
// replica, survives restarts). A read tries L1, then L2 (and keeps an L2
// hit in L1 for the rest of its TTL); a write goes to both. Redis trouble
// (down, slow past its command timeout, a corrupt entry) is a miss, counted
// in sluice_cache_l2_errors_total: never an error for the request.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "libs/obs/metrics.h"
#include "libs/redis/redis_client.h"
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
  // Entries of `tenant` and `model` (empty: all) in both tiers; `done` gets
  // the counts (L2's -1 when Redis could not be reached).
  void Invalidate(const std::string& tenant, const std::string& model,
                  std::function<void(int64_t l1, int64_t l2)> done);

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
  obs::Counter& l2_errors_;
  obs::Counter& l2_hits_;
};

}  // namespace sluice::cache
