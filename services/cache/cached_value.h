// What the L1 tier stores and counts: the cached answer with its owner and
// expiry, per-tenant statistics, the tier's options, and the byte charge of
// one entry (shared by every eviction policy so they are compared fairly).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sluice::cache {

struct CachedValue {
  std::string tenant;  // owner: isolation and per-tenant stats/invalidation
  std::string model;   // resolved model, for invalidation by model
  std::string bytes;   // the stored answer (opaque)
  absl::Time expires;  // absl::InfiniteFuture() for no TTL
};
using CachedValuePtr = std::shared_ptr<const CachedValue>;

struct TenantStats {
  int64_t hits = 0, misses = 0, bytes = 0, entries = 0, evictions = 0;
};

struct L1Options {
  int64_t max_bytes = 256 << 20;
  int64_t max_entry_bytes = 1 << 20;
  int shards = 16;
};

// Bookkeeping of one entry (node, map slot, control block) beyond its strings.
inline constexpr int64_t kEntryOverheadBytes = 128;

// Bytes an entry is charged: key, the value's strings and a fixed overhead.
inline int64_t EntryCharge(absl::string_view key, const CachedValue& value) {
  return static_cast<int64_t>(key.size() + value.tenant.size() +
                              value.model.size() + value.bytes.size()) +
         kEntryOverheadBytes;
}

}  // namespace sluice::cache
