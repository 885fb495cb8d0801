// W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache
// Admission Policy", 2017; the policy of Caffeine), bounded in bytes. New
// entries enter a small LRU window (1% of the bytes); what falls out of the
// window is a candidate for the main area, a segmented LRU (probation, and
// protected for entries hit again there, 80% of main). A candidate is
// admitted only if the frequency sketch rates it above every entry it would
// displace from the LRU end of main; otherwise it is the one evicted. So a
// one-off scan passes through the window without flushing the hot set, while
// a newly popular key gets in once it has been seen a few times.
//
// Not thread-safe: one per L1Cache shard, under the shard's mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "services/cache/cache_node.h"
#include "services/cache/frequency_sketch.h"

namespace sluice::cache {

class WindowTinyLfu {
 public:
  // Sees an entry just before the policy destroys it.
  using NodeFn = absl::FunctionRef<void(const CacheNode&)>;

  explicit WindowTinyLfu(int64_t capacity_bytes);
  WindowTinyLfu(const WindowTinyLfu&) = delete;
  WindowTinyLfu& operator=(const WindowTinyLfu&) = delete;

  int64_t capacity() const { return capacity_; }
  int64_t bytes() const {
    return window_.bytes() + probation_.bytes() + protected_.bytes();
  }
  size_t size() const { return index_.size(); }

  // The entry under `key`, or null. No effect on the policy.
  CacheNode* Find(absl::string_view key) const;

  // A hit on `node`: counts it in the sketch and refreshes its recency (a
  // hit in probation promotes it to protected).
  void RecordHit(CacheNode* node);

  // Adds an entry under a key that is not present; `charge` must not exceed
  // capacity(). Makes room at once: `on_evict` sees each entry evicted,
  // which may be the new entry itself if admission turns it away.
  void Insert(std::string key, uint64_t hash, CachedValuePtr value,
              int64_t charge, NodeFn on_evict);

  // Removes `node` (from Find) without counting an eviction.
  void Remove(CacheNode* node);

  // Removes every entry `matches` accepts, showing each to `on_remove`;
  // returns how many.
  int64_t RemoveIf(absl::FunctionRef<bool(const CacheNode&)> matches,
                   NodeFn on_remove);

 private:
  enum Region : uint8_t { kDetached, kWindow, kProbation, kProtected };

  void Unlink(CacheNode* node);
  void Destroy(CacheNode* node);
  void DemoteProtectedOverflow();
  void MakeRoom(NodeFn on_evict);
  void AdmitOrReject(CacheNode* candidate, NodeFn on_evict);

  const int64_t capacity_;
  const int64_t window_max_;
  const int64_t protected_max_;
  absl::flat_hash_map<absl::string_view, std::unique_ptr<CacheNode>> index_;
  AccessList window_;
  AccessList probation_;
  AccessList protected_;
  FrequencySketch sketch_;
  std::vector<CacheNode*> victims_;  // scratch for AdmitOrReject
};

}  // namespace sluice::cache
