// CachedKeyStore over each backend: replicas learn creations and
// revocations by polling, and lookups are answered from memory only.
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/hash/sha256.h"
#include "libs/keystore/cached_key_store.h"
#include "libs/keystore/key_secret.h"
#include "tests/libs/keystore/key_store_suite.h"

namespace sluice::keystore {
namespace {

// Forwards to a real store and counts the lookups that reach it.
class CountingKeyStore : public KeyStore {
 public:
  explicit CountingKeyStore(KeyStorePtr store) : store_(std::move(store)) {}
  int finds() const { return finds_.load(); }

  // KeyStore
  absl::StatusOr<NewKey> Create(const std::string& tenant,
                                const std::string& name,
                                const KeyPolicy& policy) override {
    return store_->Create(tenant, name, policy);
  }
  absl::StatusOr<KeyRecord> FindByHash(absl::string_view sha256_hex) override {
    ++finds_;
    return HeldFind(store_->FindByHash(sha256_hex));
  }
  absl::Status Revoke(const std::string& id) override {
    return store_->Revoke(id);
  }
  absl::StatusOr<std::vector<KeyRecord>> List(
      const std::string& tenant) override {
    return store_->List(tenant);
  }
  absl::StatusOr<std::vector<KeyRecord>> ChangedAfter(
      int64_t change_seq) override {
    {
      absl::MutexLock lock(&mu_);
      ++polls_;
    }
    absl::StatusOr<std::vector<KeyRecord>> changes =
        store_->ChangedAfter(change_seq);
    if (changes.ok()) {
      absl::MutexLock lock(&mu_);
      for (const KeyRecord& record : *changes) {
        if (record.revoked.has_value()) revoked_in_poll_[record.id] = polls_;
      }
    }
    return changes;
  }

  // Holds each FindByHash after its read until Release() (a lookup slowed
  // between reading the key and answering).
  void HoldFinds() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    hold_ = false;
  }
  // Whether a poll delivered `id`'s revocation and the cache has applied it
  // (the poller asks again only after applying what it got).
  bool RevocationApplied(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto it = revoked_in_poll_.find(id);
    return it != revoked_in_poll_.end() && polls_ > it->second;
  }
  // Whether a find is held.
  bool FindHeld() {
    absl::MutexLock lock(&mu_);
    return held_ > 0;
  }

 private:
  absl::StatusOr<KeyRecord> HeldFind(absl::StatusOr<KeyRecord> found) {
    absl::MutexLock lock(&mu_);
    ++held_;
    auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !hold_;
    };
    mu_.Await(absl::Condition(&released));
    --held_;
    return found;
  }

  const KeyStorePtr store_;
  std::atomic<int> finds_{0};
  absl::Mutex mu_;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  int held_ ABSL_GUARDED_BY(mu_) = 0;
  int polls_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int> revoked_in_poll_ ABSL_GUARDED_BY(mu_);
};

// A clock the test moves by hand.
class ManualClock {
 public:
  absl::Time Now() {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ = absl::Now();
};

TEST_P(CachedKeyStoreTest, RevocationReachesTheOtherReplicaWithinOneSecond) {
  auto store_a = db_->Open();
  auto store_b = db_->Open();
  ASSERT_TRUE(store_a.ok() && store_b.ok());
  CachedKeyStore a(*std::move(store_a));
  CachedKeyStore b(*std::move(store_b));

  auto key = a.Create("acme", "ci", KeyPolicy());
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_TRUE(a.FindBySecret(key->secret).ok());
  ASSERT_TRUE(b.FindBySecret(key->secret).ok());  // now cached in b

  absl::Time revoked_at = absl::Now();
  ASSERT_TRUE(a.Revoke(key->record.id).ok());
  EXPECT_EQ(a.FindBySecret(key->secret).status().code(),
            absl::StatusCode::kNotFound);

  absl::Time deadline = revoked_at + absl::Seconds(3);
  bool refused = false;
  while (absl::Now() < deadline) {
    if (absl::IsNotFound(b.FindBySecret(key->secret).status())) {
      refused = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::Duration elapsed = absl::Now() - revoked_at;
  ASSERT_TRUE(refused) << "replica b still accepts the key after " << elapsed;
  EXPECT_LT(elapsed, absl::Seconds(1) + absl::Milliseconds(250));
  EXPECT_TRUE(b.last_refresh_status().ok()) << b.last_refresh_status();
}

// Replicas learn revocations by the store's change sequence, not by their
// clocks: one whose clock is an hour off either way still drops the key.
TEST_P(CachedKeyStoreTest, RevocationReachesReplicasWhateverTheirClocks) {
  auto store_a = db_->Open();
  ASSERT_TRUE(store_a.ok()) << store_a.status();
  CachedKeyStore a(*std::move(store_a));
  auto key = a.Create("acme", "ci", KeyPolicy());
  ASSERT_TRUE(key.ok()) << key.status();
  std::vector<std::unique_ptr<CachedKeyStore>> skewed;
  for (absl::Duration skew : {absl::Hours(1), -absl::Hours(1)}) {
    auto store = db_->Open();
    ASSERT_TRUE(store.ok()) << store.status();
    CachedKeyStore::Options options;
    options.now = [skew] { return absl::Now() + skew; };
    skewed.push_back(
        std::make_unique<CachedKeyStore>(*std::move(store), options));
    ASSERT_TRUE(skewed.back()->FindBySecret(key->secret).ok());
  }
  ASSERT_TRUE(a.Revoke(key->record.id).ok());
  for (const auto& replica : skewed) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    bool refused = false;
    while (!refused && absl::Now() < deadline) {
      std::optional<absl::StatusOr<KeyRecord>> known =
          replica->FindByHashInMemory(key->record.secret_sha256);
      refused = known.has_value() && absl::IsNotFound(known->status());
      if (!refused) absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_TRUE(refused) << "a replica with a skewed clock keeps the key";
  }
}

// A lookup that read a key just before it was revoked, and answers after
// the revocation was polled, does not bring the key back into memory.
TEST_P(CachedKeyStoreTest, ALookupRacingARevocationDoesNotReviveTheKey) {
  auto store_a = db_->Open();
  auto store_b = db_->Open();
  ASSERT_TRUE(store_a.ok() && store_b.ok());
  auto counting = std::make_unique<CountingKeyStore>(*std::move(store_b));
  CountingKeyStore* b_store = counting.get();
  CachedKeyStore b(std::move(counting));
  // Made after b loaded, so b must look it up.
  auto key = (*store_a)->Create("acme", "ci", KeyPolicy());
  ASSERT_TRUE(key.ok()) << key.status();

  b_store->HoldFinds();
  absl::StatusOr<KeyRecord> raced = absl::UnknownError("not run");
  std::thread lookup([&] { raced = b.FindBySecret(key->secret); });
  auto wait_for = [](auto condition) {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!condition() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return condition();
  };
  ASSERT_TRUE(wait_for([&] { return b_store->FindHeld(); }));
  // Revoked, and the revocation polled into b, while the lookup holds its
  // (now stale) read.
  ASSERT_TRUE((*store_a)->Revoke(key->record.id).ok());
  ASSERT_TRUE(
      wait_for([&] { return b_store->RevocationApplied(key->record.id); }));
  b_store->Release();
  lookup.join();
  EXPECT_TRUE(absl::IsNotFound(raced.status())) << raced.status();
  std::optional<absl::StatusOr<KeyRecord>> known =
      b.FindByHashInMemory(key->record.secret_sha256);
  ASSERT_TRUE(known.has_value());
  EXPECT_TRUE(absl::IsNotFound(known->status()))
      << "the revoked key is back in memory";
}

TEST_P(CachedKeyStoreTest, HitsAreServedFromMemory) {
  auto store = db_->Open();
  ASSERT_TRUE(store.ok()) << store.status();
  auto counting = std::make_unique<CountingKeyStore>(*std::move(store));
  CountingKeyStore* counter = counting.get();
  CachedKeyStore cache(std::move(counting));

  auto key = cache.Create("acme", "ci", KeyPolicy());
  ASSERT_TRUE(key.ok()) << key.status();
  for (int i = 0; i < 50; ++i) {
    auto found = cache.FindBySecret(key->secret);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(found->id, key->record.id);
  }
  EXPECT_EQ(counter->finds(), 0);
}

// Lookups by hash (sluice acting later under a stored key) share the
// memory index and, for unknown hashes, the bounded store lookups.
TEST_P(CachedKeyStoreTest, FindByHashIsServedFromMemory) {
  auto store = db_->Open();
  ASSERT_TRUE(store.ok()) << store.status();
  auto counting = std::make_unique<CountingKeyStore>(*std::move(store));
  CountingKeyStore* counter = counting.get();
  ManualClock clock;
  CachedKeyStore::Options options;
  options.unknown_lookups_per_second = 5;
  options.now = [&clock] { return clock.Now(); };
  CachedKeyStore cache(std::move(counting), options);

  auto key = cache.Create("acme", "batch", KeyPolicy());
  ASSERT_TRUE(key.ok()) << key.status();
  for (int i = 0; i < 20; ++i) {
    auto found = cache.FindByHash(hash::Sha256Hex(key->secret));
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(found->id, key->record.id);
  }
  EXPECT_EQ(counter->finds(), 0);

  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(cache.FindByHash(hash::Sha256Hex(NewKeySecret())).status().code(),
              absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(counter->finds(), 5);
  // Not shaped like a stored hash: never reaches the store.
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(cache.FindByHash("not-a-hash").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(counter->finds(), 5);

  ASSERT_TRUE(cache.Revoke(key->record.id).ok());
  EXPECT_EQ(cache.FindByHash(key->record.secret_sha256).status().code(),
            absl::StatusCode::kNotFound);
}

// A flood of made-up keys costs a hash and a map lookup each: the store is
// asked at most unknown_lookups_per_second times a second.
TEST_P(CachedKeyStoreTest, UnknownSecretsReachTheStoreAtABoundedRate) {
  auto store = db_->Open();
  ASSERT_TRUE(store.ok()) << store.status();
  auto counting = std::make_unique<CountingKeyStore>(*std::move(store));
  CountingKeyStore* counter = counting.get();
  ManualClock clock;
  CachedKeyStore::Options options;
  options.unknown_lookups_per_second = 20;
  options.now = [&clock] { return clock.Now(); };
  CachedKeyStore cache(std::move(counting), options);
  // A second's worth at once, then nothing until the bucket refills.
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(cache.FindBySecret(NewKeySecret()).status().code(),
              absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(counter->finds(), 20);
  // Malformed secrets never reach the store at all.
  EXPECT_EQ(cache.FindBySecret("sk-other").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(counter->finds(), 20);
  // One more after 1/20 s.
  clock.Advance(absl::Milliseconds(50));
  for (int i = 0; i < 100; ++i) cache.FindBySecret(NewKeySecret()).IgnoreError();
  EXPECT_EQ(counter->finds(), 21);
}

// Keys made before the cache started are known without a lookup; keys made
// through another replica (or the CLI) afterwards within the refresh.
TEST_P(CachedKeyStoreTest, KeysCreatedAnywhereAreKnownWithinTheRefresh) {
  auto store_a = db_->Open();
  ASSERT_TRUE(store_a.ok()) << store_a.status();
  auto before = (*store_a)->Create("acme", "old", KeyPolicy());
  ASSERT_TRUE(before.ok()) << before.status();

  auto store_b = db_->Open();
  ASSERT_TRUE(store_b.ok()) << store_b.status();
  auto counting = std::make_unique<CountingKeyStore>(*std::move(store_b));
  CountingKeyStore* counter = counting.get();
  CachedKeyStore b(std::move(counting));
  auto found = b.FindBySecret(before->secret);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->id, before->record.id);
  EXPECT_EQ(found->tenant, "acme");
  EXPECT_EQ(counter->finds(), 0);  // loaded at start

  absl::Time created_at = absl::Now();
  auto after = (*store_a)->Create("acme", "new", KeyPolicy());
  ASSERT_TRUE(after.ok()) << after.status();
  // At once, before any poll: one lookup finds it.
  auto at_once = b.FindBySecret(after->secret);
  EXPECT_TRUE(at_once.ok()) << at_once.status();
  bool known = false;
  while (absl::Now() - created_at < absl::Seconds(3)) {
    if (b.FindBySecret(after->secret).ok()) {
      known = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::Duration elapsed = absl::Now() - created_at;
  ASSERT_TRUE(known) << "replica b never learned the new key";
  EXPECT_LT(elapsed, absl::Seconds(1) + absl::Milliseconds(250));
  // Found by the poll, or by one (rate-bounded) lookup before it.
  EXPECT_LE(counter->finds(), 1);
}

}  // namespace
}  // namespace sluice::keystore
