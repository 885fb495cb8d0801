// The Cache component as hosted in this process: L1 + Redis L2
// (tiered_store.h), single-flight (flight_table.h), per-tenant counters.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/host/call_tracker.h"
#include "libs/redis/redis_client.h"
#include "services/cache/cache.h"
#include "services/cache/flight_table.h"
#include "services/cache/l1_cache.h"
#include "services/cache/tiered_store.h"
#include "sluice/v1/config.pb.h"

namespace sluice::cache {

class CacheImpl final : public Cache {
 public:
  static absl::StatusOr<std::unique_ptr<CacheImpl>> Create(
      const sluice::v1::Config& config);
  ~CacheImpl() override;

  // Cache
  void Lookup(host::CallContextPtr context,
              sluice::v1::CacheLookupRequest request,
              host::Sink<sluice::v1::CacheEvent>* sink) override;
  CacheFill* StartFill(host::CallContextPtr context, std::string lease) override;
  void Invalidate(
      host::CallContextPtr context, sluice::v1::CacheInvalidateRequest request,
      host::Callback<sluice::v1::CacheInvalidateResponse> done) override;
  void Stats(host::CallContextPtr context, sluice::v1::CacheStatsRequest request,
             host::Callback<sluice::v1::CacheStatsResponse> done) override;

  // Refuses new lookups and waits for those in flight (followers included:
  // their flights end when their leaders do).
  void Drain(absl::Time deadline) { calls_.Drain(deadline); }

 private:
  class LookupCall;
  class LocalFill;

  // What a lease's fill needs to store the answer.
  struct Lease {
    std::string key;
    std::string tenant;
    std::string model;
    absl::Duration ttl;
  };
  struct Counters {
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t shared = 0;
  };
  enum class Outcome { kHit, kMiss, kShared };

  // Flights and leases: shared with timers that may fire after the cache
  // is gone (they hold it weakly).
  struct Flights {
    FlightTable table;
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Lease> leases ABSL_GUARDED_BY(mu);

    void Add(const std::string& lease, Lease info);
    std::optional<Lease> Take(const std::string& lease);
  };

  CacheImpl() = default;
  const sluice::v1::CachePolicy* PolicyOf(const std::string& tenant) const;
  void Count(const std::string& tenant, Outcome outcome);
  // Fails the flight if its leader has not begun to fill in time.
  void WatchFillDeadline(const std::string& lease);

  absl::flat_hash_map<std::string, sluice::v1::CachePolicy> policies_;
  int64_t max_entry_bytes_ = 1 << 20;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<L1Cache> l1_;
  std::unique_ptr<TieredStore> store_;
  std::shared_ptr<Flights> flights_ = std::make_shared<Flights>();
  host::CallTracker calls_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Counters> counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::cache
