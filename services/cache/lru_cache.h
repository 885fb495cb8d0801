// Plain byte-bounded LRU with the Get/Put of L1Cache: the baseline that the
// hit-ratio benchmark and the scan-resistance test compare W-TinyLFU with.
// Not used in serving. Single-threaded and unsharded.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/cache/cache_node.h"
#include "services/cache/cached_value.h"

namespace sluice::cache {

class LruCache {
 public:
  explicit LruCache(L1Options options);  // options.shards is ignored
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // As L1Cache::Get and L1Cache::Put.
  CachedValuePtr Get(absl::string_view key, absl::string_view tenant,
                     absl::Time now);
  bool Put(std::string key, CachedValuePtr value, absl::Time now);

  int64_t bytes() const { return list_.bytes(); }
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }
  int64_t evictions() const { return evictions_; }

 private:
  void Remove(CacheNode* node);

  const int64_t max_bytes_;
  const int64_t max_charge_;
  absl::flat_hash_map<absl::string_view, std::unique_ptr<CacheNode>> index_;
  AccessList list_;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
  int64_t evictions_ = 0;
};

}  // namespace sluice::cache
