#include "services/cache/lru_cache.h"

#include <algorithm>
#include <utility>

namespace sluice::cache {

LruCache::LruCache(L1Options options)
    : max_bytes_(std::max<int64_t>(options.max_bytes, 0)),
      max_charge_(std::min(options.max_entry_bytes, max_bytes_)) {}

CachedValuePtr LruCache::Get(absl::string_view key, absl::string_view tenant,
                             absl::Time now) {
  auto it = index_.find(key);
  if (it == index_.end() || it->second->value->tenant != tenant) {
    ++misses_;
    return nullptr;
  }
  CacheNode* node = it->second.get();
  if (node->value->expires <= now) {
    Remove(node);
    ++misses_;
    return nullptr;
  }
  list_.MoveToFront(node);
  ++hits_;
  return node->value;
}

bool LruCache::Put(std::string key, CachedValuePtr value, absl::Time now) {
  if (value == nullptr || value->expires <= now) return false;
  const int64_t charge = EntryCharge(key, *value);
  if (charge > max_charge_) return false;
  if (auto it = index_.find(key); it != index_.end()) Remove(it->second.get());
  auto node = std::make_unique<CacheNode>();
  node->key = std::move(key);
  node->value = std::move(value);
  node->charge = charge;
  CacheNode* raw = node.get();
  index_.emplace(raw->key, std::move(node));
  list_.PushFront(raw);
  while (list_.bytes() > max_bytes_) {
    Remove(list_.back());
    ++evictions_;
  }
  return true;
}

void LruCache::Remove(CacheNode* node) {
  list_.Remove(node);
  index_.erase(index_.find(node->key));
}

}  // namespace sluice::cache
