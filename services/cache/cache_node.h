// An entry as the eviction policies hold it, and the intrusive access-order
// list they keep entries on (front: most recently used, back: least). Nodes
// are owned by the policy's index; a list only links them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "services/cache/cached_value.h"

namespace sluice::cache {

struct CacheNode {
  std::string key;
  uint64_t hash = 0;
  CachedValuePtr value;
  int64_t charge = 0;
  uint8_t region = 0;         // which list of its policy the node is on
  CacheNode* prev = nullptr;  // towards the front
  CacheNode* next = nullptr;  // towards the back
};

class AccessList {
 public:
  AccessList() = default;
  AccessList(const AccessList&) = delete;
  AccessList& operator=(const AccessList&) = delete;

  bool empty() const { return front_ == nullptr; }
  int64_t bytes() const { return bytes_; }
  CacheNode* front() const { return front_; }
  CacheNode* back() const { return back_; }

  void PushFront(CacheNode* node) {
    node->prev = nullptr;
    node->next = front_;
    if (front_ != nullptr) front_->prev = node;
    front_ = node;
    if (back_ == nullptr) back_ = node;
    bytes_ += node->charge;
  }

  void Remove(CacheNode* node) {
    (node->prev != nullptr ? node->prev->next : front_) = node->next;
    (node->next != nullptr ? node->next->prev : back_) = node->prev;
    node->prev = node->next = nullptr;
    bytes_ -= node->charge;
  }

  void MoveToFront(CacheNode* node) {
    if (node == front_) return;
    Remove(node);
    PushFront(node);
  }

 private:
  CacheNode* front_ = nullptr;
  CacheNode* back_ = nullptr;
  int64_t bytes_ = 0;
};

// The hash every policy uses for a key: deterministic across runs (unlike
// absl::Hash), so benchmarks and shard placement repeat exactly.
// std::hash of a string is MurmurHash-based in libstdc++; the finalizer of
// SplitMix64 spreads it so that any bit range can pick a shard or a counter.
inline uint64_t KeyHash(absl::string_view key) {
  uint64_t h =
      std::hash<std::string_view>()(std::string_view(key.data(), key.size()));
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace sluice::cache
