// A KeyStore decorator for the request path: FindByHash (so FindBySecret
// too) answers from memory only. At start it loads every key (by its stored
// hash); then it polls the store's ChangedAfter (the store's own change
// sequence, never a clock) every `refresh` on a background thread, adding
// keys created anywhere and dropping revoked ones, so a key created or
// revoked through any replica (or `sluice keys`) is known everywhere within
// about refresh + one query. A revoked key's id is remembered, so a lookup
// that raced its revocation cannot bring it back. A hash not in memory is
// looked up in the store at most `unknown_lookups_per_second` times a
// second, with a second's worth at once (a key made elsewhere a moment ago
// is found before the next poll brings it), so a flood of made-up keys costs
// a hash and a map lookup each, not a query.
// Until the first load succeeds (the database was down at start), every
// miss asks the store.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/keystore/key_store.h"

namespace sluice::keystore {

class CachedKeyStore : public KeyStore {
 public:
  struct Options {
    absl::Duration refresh = absl::Milliseconds(500);
    // Store lookups for hashes not in memory, per second at most.
    int unknown_lookups_per_second = 20;
    std::function<absl::Time()> now = [] { return absl::Now(); };
  };

  // Owns `store`; loads its keys, then starts the polling thread.
  CachedKeyStore(KeyStorePtr store, Options options);
  explicit CachedKeyStore(KeyStorePtr store)
      : CachedKeyStore(std::move(store), Options()) {}
  ~CachedKeyStore() override;

  // KeyStore
  absl::StatusOr<NewKey> Create(const std::string& tenant,
                                const std::string& name,
                                const KeyPolicy& policy) override;
  absl::StatusOr<KeyRecord> FindByHash(absl::string_view sha256_hex) override;
  // The key, or NOT_FOUND for a hash no key can have or when no store
  // lookup may be spent on it now; nullopt when FindByHash would ask the
  // store.
  std::optional<absl::StatusOr<KeyRecord>> FindByHashInMemory(
      absl::string_view sha256_hex) override;
  absl::Status Revoke(const std::string& id) override;
  absl::StatusOr<std::vector<KeyRecord>> List(
      const std::string& tenant) override;
  absl::StatusOr<std::vector<KeyRecord>> ChangedAfter(
      int64_t change_seq) override;

  // The outcome of the latest poll (OK before the first).
  absl::Status last_refresh_status() const;
  // Whether every key has been read once (else misses ask the store).
  bool loaded() const;

 private:
  void PollLoop();
  // Reads every key; true once that worked.
  bool Load() ABSL_LOCKS_EXCLUDED(mu_);
  // Takes in created and revoked keys, in change order.
  void ApplyLocked(const std::vector<KeyRecord>& changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Add(const KeyRecord& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What memory says of a hash (nullopt: the store must be asked), taking
  // a lookup token for that ask or only checking there is one.
  std::optional<absl::StatusOr<KeyRecord>> MemoryAnswer(
      absl::string_view sha256_hex, bool take_token) ABSL_LOCKS_EXCLUDED(mu_);
  void RefillLookupTokens() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasLookupToken() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool TakeLookupToken() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictId(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const KeyStorePtr store_;
  const Options options_;

  mutable absl::Mutex mu_;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  // Store lookups of secrets not in memory that may be made now.
  double lookup_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time lookup_tokens_refilled_ ABSL_GUARDED_BY(mu_) =
      absl::InfinitePast();
  // Active keys by secret hash, and each key's hash by id.
  absl::flat_hash_map<std::string, KeyRecord> by_hash_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> hash_by_id_
      ABSL_GUARDED_BY(mu_);
  // Keys seen revoked, by id and by hash (never added again, refused from
  // memory), and the highest change applied.
  absl::flat_hash_set<std::string> revoked_ids_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> revoked_hashes_ ABSL_GUARDED_BY(mu_);
  int64_t seen_seq_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_refresh_ ABSL_GUARDED_BY(mu_);

  absl::Notification stop_;
  std::thread poller_;
};

}  // namespace sluice::keystore
