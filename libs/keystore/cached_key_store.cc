#include "libs/keystore/cached_key_store.h"

#include <utility>

#include "libs/hash/sha256.h"
#include "libs/keystore/key_secret.h"

namespace sluice::keystore {

CachedKeyStore::CachedKeyStore(KeyStorePtr store, Options options)
    : store_(std::move(store)), options_(std::move(options)) {
  poller_ = std::thread([this] { PollLoop(); });
}

CachedKeyStore::~CachedKeyStore() {
  stop_.Notify();
  poller_.join();
}

absl::StatusOr<NewKey> CachedKeyStore::Create(const std::string& tenant,
                                              const std::string& name,
                                              const KeyPolicy& policy) {
  absl::StatusOr<NewKey> key = store_->Create(tenant, name, policy);
  if (key.ok()) {
    absl::MutexLock lock(&mu_);
    unknown_until_.erase(hash::Sha256Hex(key->secret));
  }
  return key;
}

absl::StatusOr<KeyRecord> CachedKeyStore::FindBySecret(
    absl::string_view secret) {
  if (!LooksLikeKeySecret(secret)) {
    return absl::NotFoundError("unknown or revoked API key");
  }
  std::string hash = hash::Sha256Hex(secret);
  absl::Time now = options_.now();
  {
    absl::MutexLock lock(&mu_);
    if (auto it = by_hash_.find(hash); it != by_hash_.end()) return it->second;
    if (auto it = unknown_until_.find(hash);
        it != unknown_until_.end() && it->second > now) {
      return absl::NotFoundError("unknown or revoked API key");
    }
  }
  absl::StatusOr<KeyRecord> found = store_->FindBySecret(secret);
  absl::MutexLock lock(&mu_);
  if (found.ok()) {
    // A revocation that lands between the lookup and this insert is caught
    // by the next poll: polls re-read `overlap` of the past.
    hash_by_id_[found->id] = hash;
    by_hash_[hash] = *found;
  } else if (absl::IsNotFound(found.status())) {
    if (unknown_until_.size() >= options_.max_negative_entries) {
      unknown_until_.clear();
    }
    unknown_until_[hash] = now + options_.negative_ttl;
  }
  return found;
}

absl::Status CachedKeyStore::Revoke(const std::string& id) {
  absl::Status status = store_->Revoke(id);
  if (status.ok()) {
    absl::MutexLock lock(&mu_);
    EvictId(id);
  }
  return status;
}

absl::StatusOr<std::vector<KeyRecord>> CachedKeyStore::List(
    const std::string& tenant) {
  return store_->List(tenant);
}

absl::StatusOr<std::vector<KeyRecord>> CachedKeyStore::ChangedSince(
    absl::Time since) {
  return store_->ChangedSince(since);
}

absl::Status CachedKeyStore::last_refresh_status() const {
  absl::MutexLock lock(&mu_);
  return last_refresh_;
}

void CachedKeyStore::PollLoop() {
  // Keys cached later are read fresh from the store, so only changes from
  // now on matter.
  absl::Time since = options_.now() - options_.overlap;
  while (!stop_.WaitForNotificationWithTimeout(options_.refresh)) {
    absl::Time started = options_.now();
    absl::StatusOr<std::vector<KeyRecord>> changes =
        store_->ChangedSince(since);
    if (changes.ok()) {
      Apply(*changes);
      since = started - options_.overlap;
    }
    absl::MutexLock lock(&mu_);
    last_refresh_ = changes.status();
  }
}

void CachedKeyStore::Apply(const std::vector<KeyRecord>& changes) {
  absl::Time now = options_.now();
  absl::MutexLock lock(&mu_);
  bool created = false;
  for (const KeyRecord& r : changes) {
    if (r.revoked.has_value()) {
      EvictId(r.id);
    } else if (seen_created_.emplace(r.id, r.created).second) {
      created = true;
    }
  }
  // A new key's hash is unknown here, so any negative entry might be it.
  if (created) unknown_until_.clear();
  for (auto it = unknown_until_.begin(); it != unknown_until_.end();) {
    if (it->second <= now) {
      unknown_until_.erase(it++);
    } else {
      ++it;
    }
  }
  // Creations older than any poll window will not be reported again.
  absl::Time horizon = now - 2 * options_.overlap;
  for (auto it = seen_created_.begin(); it != seen_created_.end();) {
    if (it->second < horizon) {
      seen_created_.erase(it++);
    } else {
      ++it;
    }
  }
}

void CachedKeyStore::EvictId(const std::string& id) {
  auto it = hash_by_id_.find(id);
  if (it == hash_by_id_.end()) return;
  by_hash_.erase(it->second);
  hash_by_id_.erase(it);
}

}  // namespace sluice::keystore
