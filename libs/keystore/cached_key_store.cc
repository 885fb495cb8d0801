#include "libs/keystore/cached_key_store.h"

#include "libs/process/thread_name.h"

#include <algorithm>
#include <utility>

#include "libs/keystore/key_secret.h"

namespace sluice::keystore {

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
  for (const KeyRecord& record : *all) {
    if (!record.revoked.has_value()) Add(record);
  }
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

absl::StatusOr<KeyRecord> CachedKeyStore::FindByHash(
    absl::string_view sha256_hex) {
  if (!LooksLikeKeyHash(sha256_hex)) {
    return absl::NotFoundError("unknown or revoked API key");
  }
  {
    absl::MutexLock lock(&mu_);
    if (auto it = by_hash_.find(sha256_hex); it != by_hash_.end()) {
      return it->second;
    }
    if (loaded_ && !TakeLookupToken()) {
      return absl::NotFoundError("unknown or revoked API key");
    }
  }
  absl::StatusOr<KeyRecord> found = store_->FindByHash(sha256_hex);
  if (found.ok()) {
    // A revocation landing between the lookup and this insert is caught by
    // the next poll: polls re-read `overlap` of the past.
    absl::MutexLock lock(&mu_);
    Add(*found);
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

bool CachedKeyStore::loaded() const {
  absl::MutexLock lock(&mu_);
  return loaded_;
}

absl::Status CachedKeyStore::last_refresh_status() const {
  absl::MutexLock lock(&mu_);
  return last_refresh_;
}

void CachedKeyStore::PollLoop() {
  // Changes from (a little before) the load on; until a load has worked,
  // each turn tries again.
  absl::Time since = options_.now() - options_.overlap;
  while (!stop_.WaitForNotificationWithTimeout(options_.refresh)) {
    absl::Time started = options_.now();
    bool loaded;
    {
      absl::MutexLock lock(&mu_);
      loaded = loaded_;
    }
    if (!loaded) {
      if (Load()) since = started - options_.overlap;
      continue;
    }
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
  absl::MutexLock lock(&mu_);
  for (const KeyRecord& record : changes) {
    if (record.revoked.has_value()) {
      EvictId(record.id);
    } else {
      Add(record);
    }
  }
}

// A token bucket: a second's worth of lookups at once (a new key's first
// burst of requests), refilled at the rate.
bool CachedKeyStore::TakeLookupToken() {
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
  if (lookup_tokens_ < 1) return false;
  lookup_tokens_ -= 1;
  return true;
}

void CachedKeyStore::Add(const KeyRecord& record) {
  if (record.secret_sha256.empty()) return;
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
