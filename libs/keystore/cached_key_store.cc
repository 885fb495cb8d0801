#include "libs/keystore/cached_key_store.h"

#include "libs/process/thread_name.h"

#include <algorithm>
#include <utility>

#include "libs/keystore/key_secret.h"

namespace sluice::keystore {
namespace {

absl::Status UnknownKey() {
  return absl::NotFoundError("unknown or revoked API key");
}

}  // namespace

CachedKeyStore::CachedKeyStore(KeyStorePtr store, Options options)
    : store_(std::move(store)), options_(std::move(options)) {
  Load();
  poller_ = std::thread([this] {
    process::NameThisThread("sluice-keys");
    PollLoop();
  });
}

CachedKeyStore::~CachedKeyStore() {
  stop_.Notify();
  poller_.join();
}

bool CachedKeyStore::Load() {
  absl::StatusOr<std::vector<KeyRecord>> all = store_->List("");
  absl::MutexLock lock(&mu_);
  last_refresh_ = all.status();
  if (!all.ok()) return false;
  // Every change up to the highest seen is in the list: sequences commit in
  // order, so polls from there on miss nothing.
  ApplyLocked(*all);
  loaded_ = true;
  return true;
}

absl::StatusOr<NewKey> CachedKeyStore::Create(const std::string& tenant,
                                              const std::string& name,
                                              const KeyPolicy& policy) {
  absl::StatusOr<NewKey> key = store_->Create(tenant, name, policy);
  if (key.ok()) {
    absl::MutexLock lock(&mu_);
    Add(key->record);
  }
  return key;
}

std::optional<absl::StatusOr<KeyRecord>> CachedKeyStore::MemoryAnswer(
    absl::string_view sha256_hex, bool take_token) {
  if (!LooksLikeKeyHash(sha256_hex)) return UnknownKey();
  absl::MutexLock lock(&mu_);
  if (auto it = by_hash_.find(sha256_hex); it != by_hash_.end()) {
    return it->second;
  }
  if (revoked_hashes_.contains(sha256_hex)) return UnknownKey();
  if (loaded_ && !(take_token ? TakeLookupToken() : HasLookupToken())) {
    return UnknownKey();
  }
  return std::nullopt;
}

absl::StatusOr<KeyRecord> CachedKeyStore::FindByHash(
    absl::string_view sha256_hex) {
  if (std::optional<absl::StatusOr<KeyRecord>> known =
          MemoryAnswer(sha256_hex, /*take_token=*/true)) {
    return *std::move(known);
  }
  absl::StatusOr<KeyRecord> found = store_->FindByHash(sha256_hex);
  if (found.ok()) {
    // A revocation applied since the lookup read the key wins; one not yet
    // polled is applied by the next poll (it has a later sequence).
    absl::MutexLock lock(&mu_);
    if (revoked_ids_.contains(found->id)) return UnknownKey();
    Add(*found);
  }
  return found;
}

std::optional<absl::StatusOr<KeyRecord>> CachedKeyStore::FindByHashInMemory(
    absl::string_view sha256_hex) {
  // The token is only looked at: FindByHash takes it when it asks.
  return MemoryAnswer(sha256_hex, /*take_token=*/false);
}

absl::Status CachedKeyStore::Revoke(const std::string& id) {
  absl::Status status = store_->Revoke(id);
  if (status.ok()) {
    absl::MutexLock lock(&mu_);
    if (auto it = hash_by_id_.find(id); it != hash_by_id_.end()) {
      revoked_hashes_.insert(it->second);
    }
    revoked_ids_.insert(id);
    EvictId(id);
  }
  return status;
}

absl::StatusOr<std::vector<KeyRecord>> CachedKeyStore::List(
    const std::string& tenant) {
  return store_->List(tenant);
}

absl::StatusOr<std::vector<KeyRecord>> CachedKeyStore::ChangedAfter(
    int64_t change_seq) {
  return store_->ChangedAfter(change_seq);
}

bool CachedKeyStore::loaded() const {
  absl::MutexLock lock(&mu_);
  return loaded_;
}

absl::Status CachedKeyStore::last_refresh_status() const {
  absl::MutexLock lock(&mu_);
  return last_refresh_;
}

void CachedKeyStore::PollLoop() {
  // Until a load has worked, each turn tries again.
  while (!stop_.WaitForNotificationWithTimeout(options_.refresh)) {
    int64_t seen;
    {
      absl::MutexLock lock(&mu_);
      if (!loaded_) seen = -1;
      else seen = seen_seq_;
    }
    if (seen < 0) {
      Load();
      continue;
    }
    absl::StatusOr<std::vector<KeyRecord>> changes =
        store_->ChangedAfter(seen);
    absl::MutexLock lock(&mu_);
    if (changes.ok()) ApplyLocked(*changes);
    last_refresh_ = changes.status();
  }
}

void CachedKeyStore::ApplyLocked(const std::vector<KeyRecord>& changes) {
  for (const KeyRecord& record : changes) {
    seen_seq_ = std::max(seen_seq_, record.change_seq);
    if (record.revoked.has_value()) {
      revoked_ids_.insert(record.id);
      if (!record.secret_sha256.empty()) {
        revoked_hashes_.insert(record.secret_sha256);
      }
      EvictId(record.id);
    } else {
      Add(record);
    }
  }
}

// A token bucket: a second's worth of lookups at once (a new key's first
// burst of requests), refilled at the rate.
void CachedKeyStore::RefillLookupTokens() {
  const double rate = std::max(1, options_.unknown_lookups_per_second);
  absl::Time now = options_.now();
  if (lookup_tokens_refilled_ == absl::InfinitePast()) {
    lookup_tokens_ = rate;
  } else {
    lookup_tokens_ = std::min(
        rate, lookup_tokens_ +
                  absl::ToDoubleSeconds(now - lookup_tokens_refilled_) * rate);
  }
  lookup_tokens_refilled_ = now;
}

bool CachedKeyStore::HasLookupToken() {
  RefillLookupTokens();
  return lookup_tokens_ >= 1;
}

bool CachedKeyStore::TakeLookupToken() {
  if (!HasLookupToken()) return false;
  lookup_tokens_ -= 1;
  return true;
}

void CachedKeyStore::Add(const KeyRecord& record) {
  // A lookup that read the key before its revocation landed here comes
  // too late to bring it back.
  if (record.secret_sha256.empty() || revoked_ids_.contains(record.id)) return;
  hash_by_id_[record.id] = record.secret_sha256;
  by_hash_[record.secret_sha256] = record;
}

void CachedKeyStore::EvictId(const std::string& id) {
  auto it = hash_by_id_.find(id);
  if (it == hash_by_id_.end()) return;
  by_hash_.erase(it->second);
  hash_by_id_.erase(it);
}

}  // namespace sluice::keystore
