// A KeyStore decorator for the request path: FindBySecret answers from
// memory. Hits are cached by secret hash; revocations reach the cache by
// polling the store's ChangedSince every `refresh` on a background thread,
// so a key revoked through any replica stops working everywhere within
// about refresh + one query. Unknown secrets are remembered for
// `negative_ttl` so a flood of bad keys does not reach the database.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/keystore/key_store.h"

namespace sluice::keystore {

class CachedKeyStore : public KeyStore {
 public:
  struct Options {
    absl::Duration refresh = absl::Milliseconds(500);
    absl::Duration negative_ttl = absl::Seconds(1);
    // Each poll asks again for this much of the past, so changes committed
    // late or stamped by a slightly slow clock are not missed; re-applying a
    // change is harmless.
    absl::Duration overlap = absl::Seconds(5);
    // Bounds the negative cache; past it, it is emptied.
    size_t max_negative_entries = 100000;
    std::function<absl::Time()> now = [] { return absl::Now(); };
  };

  // Owns `store`; starts the polling thread.
  CachedKeyStore(KeyStorePtr store, Options options);
  explicit CachedKeyStore(KeyStorePtr store)
      : CachedKeyStore(std::move(store), Options()) {}
  ~CachedKeyStore() override;

  // KeyStore
  absl::StatusOr<NewKey> Create(const std::string& tenant,
                                const std::string& name,
                                const KeyPolicy& policy) override;
  absl::StatusOr<KeyRecord> FindBySecret(absl::string_view secret) override;
  absl::Status Revoke(const std::string& id) override;
  absl::StatusOr<std::vector<KeyRecord>> List(
      const std::string& tenant) override;
  absl::StatusOr<std::vector<KeyRecord>> ChangedSince(
      absl::Time since) override;

  // The outcome of the latest poll (OK before the first).
  absl::Status last_refresh_status() const;

 private:
  void PollLoop();
  void Apply(const std::vector<KeyRecord>& changes);
  void EvictId(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const KeyStorePtr store_;
  const Options options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, KeyRecord> by_hash_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> hash_by_id_
      ABSL_GUARDED_BY(mu_);
  // Secret hash → when the "unknown" answer expires.
  absl::flat_hash_map<std::string, absl::Time> unknown_until_
      ABSL_GUARDED_BY(mu_);
  // Ids of creations already seen by a poll (polls overlap), by creation
  // time.
  absl::flat_hash_map<std::string, absl::Time> seen_created_
      ABSL_GUARDED_BY(mu_);
  absl::Status last_refresh_ ABSL_GUARDED_BY(mu_);

  absl::Notification stop_;
  std::thread poller_;
};

}  // namespace sluice::keystore
