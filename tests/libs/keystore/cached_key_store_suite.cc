// CachedKeyStore over each backend: replicas learn revocations by polling,
// and lookups are answered from memory.
#include <atomic>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
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
  absl::StatusOr<KeyRecord> FindBySecret(absl::string_view secret) override {
    ++finds_;
    return store_->FindBySecret(secret);
  }
  absl::Status Revoke(const std::string& id) override {
    return store_->Revoke(id);
  }
  absl::StatusOr<std::vector<KeyRecord>> List(
      const std::string& tenant) override {
    return store_->List(tenant);
  }
  absl::StatusOr<std::vector<KeyRecord>> ChangedSince(
      absl::Time since) override {
    return store_->ChangedSince(since);
  }

 private:
  const KeyStorePtr store_;
  std::atomic<int> finds_{0};
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
  EXPECT_EQ(counter->finds(), 1);
}

TEST_P(CachedKeyStoreTest, UnknownSecretsAreRememberedBriefly) {
  auto store = db_->Open();
  ASSERT_TRUE(store.ok()) << store.status();
  auto counting = std::make_unique<CountingKeyStore>(*std::move(store));
  CountingKeyStore* counter = counting.get();
  ManualClock clock;
  CachedKeyStore::Options options;
  options.now = [&clock] { return clock.Now(); };
  CachedKeyStore cache(std::move(counting), options);

  std::string bad = NewKeySecret();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(cache.FindBySecret(bad).status().code(),
              absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(counter->finds(), 1);
  // Malformed secrets never reach the store at all.
  EXPECT_EQ(cache.FindBySecret("sk-other").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(counter->finds(), 1);

  clock.Advance(options.negative_ttl + absl::Milliseconds(1));
  EXPECT_EQ(cache.FindBySecret(bad).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(counter->finds(), 2);
}

}  // namespace
}  // namespace sluice::keystore
