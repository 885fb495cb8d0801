// The Cache gRPC service: Lookup answers a hit, hands out a lease to the
// first of identical requests (the leader, which then streams its answer in
// with Fill), or makes the others followers of the leader's flight; plus
// invalidation and per-tenant stats for operators.
#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/redis/redis_client.h"
#include "services/cache/flight_table.h"
#include "services/cache/l1_cache.h"
#include "services/cache/tiered_store.h"
#include "sluice/v1/cache.grpc.pb.h"
#include "sluice/v1/config.pb.h"

namespace sluice::cache {

class CacheService final : public sluice::v1::Cache::CallbackService {
 public:
  static absl::StatusOr<std::unique_ptr<CacheService>> Create(
      const sluice::v1::Config& config);
  ~CacheService() override;

  // sluice::v1::Cache::CallbackService
  grpc::ServerWriteReactor<sluice::v1::CacheEvent>* Lookup(
      grpc::CallbackServerContext* context,
      const sluice::v1::CacheLookupRequest* request) override;
  grpc::ServerReadReactor<sluice::v1::CacheFill>* Fill(
      grpc::CallbackServerContext* context,
      sluice::v1::CacheFillResponse* response) override;
  grpc::ServerUnaryReactor* Invalidate(
      grpc::CallbackServerContext* context,
      const sluice::v1::CacheInvalidateRequest* request,
      sluice::v1::CacheInvalidateResponse* response) override;
  grpc::ServerUnaryReactor* Stats(
      grpc::CallbackServerContext* context,
      const sluice::v1::CacheStatsRequest* request,
      sluice::v1::CacheStatsResponse* response) override;

 private:
  class LookupReactor;
  class FillReactor;

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

  // Flights and leases: shared with timers that may fire after the
  // service is gone (they hold it weakly).
  struct Flights {
    FlightTable table;
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Lease> leases ABSL_GUARDED_BY(mu);

    void Add(const std::string& lease, Lease info);
    std::optional<Lease> Take(const std::string& lease);
  };

  CacheService() = default;
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

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Counters> counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::cache
