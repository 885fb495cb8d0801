// The in-process tier of the response cache: a byte-bounded map from cache
// key to answer, evicting by W-TinyLFU (see window_tiny_lfu.h), with
// per-tenant hit/miss/size/eviction statistics. Sharded by key hash with one
// mutex per shard; each shard has max_bytes / shards of the budget, so
// bytes() never exceeds max_bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/cache/cached_value.h"
#include "services/cache/window_tiny_lfu.h"

namespace sluice::cache {

// Thread-safe.
class L1Cache {
 public:
  explicit L1Cache(L1Options options);
  L1Cache(const L1Cache&) = delete;
  L1Cache& operator=(const L1Cache&) = delete;

  // The entry under `key` if present, unexpired and owned by `tenant` (an
  // entry of another tenant under the same key is a miss: keys already
  // include the tenant, this is defence in depth). Counts a hit or a miss
  // for `tenant`. An expired entry is dropped.
  CachedValuePtr Get(absl::string_view key, absl::string_view tenant,
                     absl::Time now);

  // Inserts or replaces the entry under `key`. Refused (false) when `value`
  // is null, already expired at `now`, or charged (EntryCharge) more than
  // max_entry_bytes or a shard's budget. An accepted entry may still be
  // turned away at once by admission (counted as an eviction of its tenant).
  bool Put(std::string key, CachedValuePtr value, absl::Time now);

  // Removes the entries of `tenant` (empty: all tenants) and `model` (empty:
  // all models); returns how many.
  int64_t Invalidate(absl::string_view tenant, absl::string_view model);

  TenantStats Stats(absl::string_view tenant) const;
  std::vector<std::pair<std::string, TenantStats>> AllStats()
      const;  // sorted by tenant
  int64_t bytes() const;

 private:
  struct Shard {
    explicit Shard(int64_t capacity) : policy(capacity) {}
    // Stats of `tenant`, created on first use.
    TenantStats& StatsOf(absl::string_view tenant)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
    // Takes `node` out of the byte/entry counts of its tenant.
    void Uncount(const CacheNode& node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

    mutable absl::Mutex mu;
    WindowTinyLfu policy ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<std::string, TenantStats> stats ABSL_GUARDED_BY(mu);
  };

  Shard& ShardFor(uint64_t hash) const;

  int64_t max_charge_ = 0;  // the largest entry Put accepts
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace sluice::cache
