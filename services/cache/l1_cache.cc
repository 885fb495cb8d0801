#include "services/cache/l1_cache.h"

#include <algorithm>
#include <map>

namespace sluice::cache {
namespace {

void Add(TenantStats& into, const TenantStats& from) {
  into.hits += from.hits;
  into.misses += from.misses;
  into.bytes += from.bytes;
  into.entries += from.entries;
  into.evictions += from.evictions;
}

bool Matches(const CachedValue& value, absl::string_view tenant,
             absl::string_view model) {
  return (tenant.empty() || value.tenant == tenant) &&
         (model.empty() || value.model == model);
}

}  // namespace

TenantStats& L1Cache::Shard::StatsOf(absl::string_view tenant) {
  auto it = stats.find(tenant);
  if (it == stats.end())
    it = stats.emplace(std::string(tenant), TenantStats()).first;
  return it->second;
}

void L1Cache::Shard::Uncount(const CacheNode& node) {
  TenantStats& owner = StatsOf(node.value->tenant);
  owner.bytes -= node.charge;
  --owner.entries;
}

L1Cache::L1Cache(L1Options options) {
  const int shards = std::max(options.shards, 1);
  const int64_t shard_capacity =
      std::max<int64_t>(options.max_bytes, 0) / shards;
  max_charge_ = std::min(options.max_entry_bytes, shard_capacity);
  shards_.reserve(shards);
  for (int i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<Shard>(shard_capacity));
  }
}

L1Cache::Shard& L1Cache::ShardFor(uint64_t hash) const {
  // The high half picks the shard; the policy's sketch mixes the whole hash.
  return *shards_[(hash >> 32) % shards_.size()];
}

CachedValuePtr L1Cache::Get(absl::string_view key, absl::string_view tenant,
                            absl::Time now) {
  Shard& shard = ShardFor(KeyHash(key));
  absl::MutexLock lock(&shard.mu);
  CacheNode* node = shard.policy.Find(key);
  CachedValuePtr found;
  if (node != nullptr && node->value->tenant == tenant) {
    if (node->value->expires <= now) {
      shard.Uncount(*node);
      shard.policy.Remove(node);
    } else {
      shard.policy.RecordHit(node);
      found = node->value;
    }
  }
  TenantStats& stats = shard.StatsOf(tenant);
  ++(found != nullptr ? stats.hits : stats.misses);
  return found;
}

bool L1Cache::Put(std::string key, CachedValuePtr value, absl::Time now) {
  if (value == nullptr || value->expires <= now) return false;
  const int64_t charge = EntryCharge(key, *value);
  if (charge > max_charge_) return false;
  const uint64_t hash = KeyHash(key);
  Shard& shard = ShardFor(hash);
  absl::MutexLock lock(&shard.mu);
  if (CacheNode* old = shard.policy.Find(key)) {
    shard.Uncount(*old);
    shard.policy.Remove(old);
  }
  TenantStats& owner = shard.StatsOf(value->tenant);
  owner.bytes += charge;
  ++owner.entries;
  shard.policy.Insert(std::move(key), hash, std::move(value), charge,
                      [&shard](const CacheNode& evicted)
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
                            shard.Uncount(evicted);
                            ++shard.StatsOf(evicted.value->tenant).evictions;
                          });
  return true;
}

int64_t L1Cache::Invalidate(absl::string_view tenant, absl::string_view model) {
  int64_t removed = 0;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    removed += shard->policy.RemoveIf(
        [&](const CacheNode& node) {
          return Matches(*node.value, tenant, model);
        },
        [&](const CacheNode& node)
            ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard->mu) { shard->Uncount(node); });
  }
  return removed;
}

TenantStats L1Cache::Stats(absl::string_view tenant) const {
  TenantStats total;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    auto it = shard->stats.find(tenant);
    if (it != shard->stats.end()) Add(total, it->second);
  }
  return total;
}

std::vector<std::pair<std::string, TenantStats>> L1Cache::AllStats() const {
  std::map<std::string, TenantStats, std::less<>> merged;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    for (const auto& [tenant, stats] : shard->stats) Add(merged[tenant], stats);
  }
  return {merged.begin(), merged.end()};
}

int64_t L1Cache::bytes() const {
  int64_t total = 0;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    total += shard->policy.bytes();
  }
  return total;
}

}  // namespace sluice::cache
