// KeyStore behaviour every backend must share.
#include "tests/libs/keystore/key_store_suite.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/hash/sha256.h"
#include "libs/keystore/key_secret.h"

namespace sluice::keystore {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

KeyPolicy SamplePolicy() {
  KeyPolicy p;
  p.models = {"gpt-4o-mini", "claude-3-5-sonnet", "llama/3.1:8b \"q\", ok"};
  p.rpm = 60;
  p.tpm = 100000;
  p.budget_micro_usd = 12'500'000;
  p.priority = -2;
  p.cache = "semantic-strict";
  return p;
}

void ExpectSamePolicy(const KeyPolicy& a, const KeyPolicy& b) {
  EXPECT_EQ(a.models, b.models);
  EXPECT_EQ(a.rpm, b.rpm);
  EXPECT_EQ(a.tpm, b.tpm);
  EXPECT_EQ(a.budget_micro_usd, b.budget_micro_usd);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.cache, b.cache);
}

std::vector<std::string> Ids(const std::vector<KeyRecord>& records) {
  std::vector<std::string> ids;
  for (const KeyRecord& r : records) ids.push_back(r.id);
  return ids;
}

TEST_P(KeyStoreTest, CreateReturnsSecretAndStoresOnlyItsHash) {
  auto key = store_->Create("acme", "ci", SamplePolicy());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(absl::StartsWith(key->secret, "sk-sluice-"));
  EXPECT_EQ(key->secret.size(), 42u);
  EXPECT_TRUE(absl::StartsWith(key->record.id, "key_"));
  EXPECT_EQ(key->record.id.size(), 16u);
  EXPECT_EQ(key->record.last4, key->secret.substr(38));
  EXPECT_FALSE(key->record.revoked.has_value());

  auto hash = db_->StoredHash(key->record.id);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(*hash, hash::Sha256Hex(key->secret));
  auto dump = db_->DumpAll();
  ASSERT_TRUE(dump.ok()) << dump.status();
  ASSERT_TRUE(absl::StrContains(*dump, key->record.id));  // the dump is real
  EXPECT_FALSE(absl::StrContains(*dump, key->secret));
  // Nor the random part alone (28 characters; last4 is stored on purpose).
  EXPECT_FALSE(absl::StrContains(*dump, key->secret.substr(10, 28)));
}

TEST_P(KeyStoreTest, FindBySecretFindsOnlyTheKey) {
  auto key = store_->Create("acme", "ci", SamplePolicy());
  ASSERT_TRUE(key.ok()) << key.status();
  auto found = store_->FindBySecret(key->secret);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->id, key->record.id);

  std::string wrong = NewKeySecret();
  auto missing = store_->FindBySecret(wrong);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(absl::StrContains(missing.status().message(), wrong));
  EXPECT_EQ(store_->FindBySecret("").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->FindBySecret(key->secret.substr(0, 41)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(KeyStoreTest, FindByHashFindsTheKeyWithoutItsSecret) {
  auto key = store_->Create("acme", "batch", SamplePolicy());
  auto other = store_->Create("globex", "other", KeyPolicy());
  ASSERT_TRUE(key.ok() && other.ok());
  auto found = store_->FindByHash(hash::Sha256Hex(key->secret));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->id, key->record.id);
  EXPECT_EQ(found->tenant, "acme");
  EXPECT_EQ(found->secret_sha256, hash::Sha256Hex(key->secret));
  ExpectSamePolicy(found->policy, SamplePolicy());
  // The hash a record carries finds that record.
  auto again = store_->FindByHash(other->record.secret_sha256);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, other->record.id);

  EXPECT_EQ(store_->FindByHash(hash::Sha256Hex(NewKeySecret())).status().code(),
            absl::StatusCode::kNotFound);
  // Only the stored form: lower-case hex of the right length.
  for (const std::string& bad :
       {std::string(), absl::AsciiStrToUpper(key->record.secret_sha256),
        key->record.secret_sha256.substr(1), key->secret,
        key->record.secret_sha256 + "0"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(store_->FindByHash(bad).status().code(),
              absl::StatusCode::kNotFound);
  }

  ASSERT_TRUE(store_->Revoke(key->record.id).ok());
  EXPECT_EQ(store_->FindByHash(key->record.secret_sha256).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindByHash(other->record.secret_sha256).ok());
}

TEST_P(KeyStoreTest, PolicyAndRecordRoundTrip) {
  absl::Time before = absl::Now();
  auto key = store_->Create("acme", "batch jobs", SamplePolicy());
  ASSERT_TRUE(key.ok()) << key.status();
  auto found = store_->FindBySecret(key->secret);
  ASSERT_TRUE(found.ok()) << found.status();
  ExpectSamePolicy(found->policy, SamplePolicy());
  EXPECT_EQ(found->tenant, "acme");
  EXPECT_EQ(found->name, "batch jobs");
  EXPECT_EQ(found->last4, key->record.last4);
  EXPECT_EQ(found->created, key->record.created);
  EXPECT_GE(found->created, before - absl::Microseconds(1));
  EXPECT_LE(found->created, absl::Now());

  auto empty = store_->Create("acme", "", KeyPolicy());
  ASSERT_TRUE(empty.ok()) << empty.status();
  auto found_empty = store_->FindBySecret(empty->secret);
  ASSERT_TRUE(found_empty.ok()) << found_empty.status();
  ExpectSamePolicy(found_empty->policy, KeyPolicy());
}

TEST_P(KeyStoreTest, CreateRejectsBadArguments) {
  EXPECT_EQ(store_->Create("", "n", KeyPolicy()).status().code(),
            absl::StatusCode::kInvalidArgument);
  KeyPolicy negative;
  negative.rpm = -1;
  EXPECT_EQ(store_->Create("acme", "n", negative).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto all = store_->List("");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->empty());
}

TEST_P(KeyStoreTest, RevokeHidesKeyAndListShowsRevokedAt) {
  auto key = store_->Create("acme", "ci", SamplePolicy());
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_TRUE(store_->Revoke(key->record.id).ok());
  EXPECT_EQ(store_->FindBySecret(key->secret).status().code(),
            absl::StatusCode::kNotFound);

  auto listed = store_->List("acme");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  ASSERT_TRUE((*listed)[0].revoked.has_value());
  absl::Time revoked = *(*listed)[0].revoked;
  EXPECT_GE(revoked, key->record.created);

  // Revoking again keeps the first time; unknown ids are NOT_FOUND.
  EXPECT_TRUE(store_->Revoke(key->record.id).ok());
  listed = store_->List("acme");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ((*listed)[0].revoked, revoked);
  EXPECT_EQ(store_->Revoke("key_000000000000").code(),
            absl::StatusCode::kNotFound);
}

TEST_P(KeyStoreTest, ListFiltersByTenant) {
  auto a1 = store_->Create("a", "one", KeyPolicy());
  auto b1 = store_->Create("b", "one", KeyPolicy());
  auto a2 = store_->Create("a", "two", KeyPolicy());
  ASSERT_TRUE(a1.ok() && b1.ok() && a2.ok());
  auto a = store_->List("a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(Ids(*a), ElementsAre(a1->record.id, a2->record.id));
  auto all = store_->List("");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Ids(*all), UnorderedElementsAre(a1->record.id, b1->record.id,
                                              a2->record.id));
  auto none = store_->List("nobody");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST_P(KeyStoreTest, ChangedAfterReturnsCreatedAndRevokedKeysInChangeOrder) {
  auto k1 = store_->Create("acme", "one", KeyPolicy());
  auto k2 = store_->Create("acme", "two", KeyPolicy());
  ASSERT_TRUE(k1.ok() && k2.ok());
  // Each change takes the next sequence number of the store.
  EXPECT_GT(k1->record.change_seq, 0);
  EXPECT_GT(k2->record.change_seq, k1->record.change_seq);
  auto created = store_->ChangedAfter(0);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(Ids(*created), ElementsAre(k1->record.id, k2->record.id));
  EXPECT_EQ((*created)[1].change_seq, k2->record.change_seq);

  ASSERT_TRUE(store_->Revoke(k1->record.id).ok());
  auto revoked = store_->ChangedAfter(k2->record.change_seq);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  ASSERT_THAT(Ids(*revoked), ElementsAre(k1->record.id));
  EXPECT_TRUE((*revoked)[0].revoked.has_value());
  const int64_t revocation = (*revoked)[0].change_seq;
  EXPECT_GT(revocation, k2->record.change_seq);
  // Revoking again changes nothing.
  ASSERT_TRUE(store_->Revoke(k1->record.id).ok());
  auto again = store_->ChangedAfter(revocation);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->empty());
  auto everything = store_->ChangedAfter(0);
  ASSERT_TRUE(everything.ok()) << everything.status();
  EXPECT_THAT(Ids(*everything), ElementsAre(k2->record.id, k1->record.id));
}

// Writers on several connections (replicas) take distinct sequence numbers,
// so a replica polling after the highest it saw misses none of them.
TEST_P(KeyStoreTest, ChangesFromManyWritersAllFollowTheHighestSeen) {
  auto other = db_->Open();
  ASSERT_TRUE(other.ok()) << other.status();
  std::vector<std::thread> writers;
  for (KeyStore* store : {store_.get(), other->get()}) {
    writers.emplace_back([store] {
      for (int i = 0; i < 15; ++i) {
        auto key = store->Create("acme", "w", KeyPolicy());
        ASSERT_TRUE(key.ok()) << key.status();
        if (i % 3 == 0) {
          ASSERT_TRUE(store->Revoke(key->record.id).ok());
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  auto all = store_->ChangedAfter(0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 30u);
  std::set<int64_t> seqs;
  for (const KeyRecord& record : *all) seqs.insert(record.change_seq);
  EXPECT_EQ(seqs.size(), 30u);  // distinct
  for (size_t i = 1; i < all->size(); ++i) {
    EXPECT_LT((*all)[i - 1].change_seq, (*all)[i].change_seq);  // in order
  }
}

TEST_P(KeyStoreTest, ConcurrentCreatesAreDistinctAndFindable) {
  constexpr int kThreads = 8, kPerThread = 10;
  absl::Mutex mu;
  std::vector<NewKey> keys;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto key = store_->Create(absl::StrCat("tenant", t), "k", KeyPolicy());
        ASSERT_TRUE(key.ok()) << key.status();
        absl::MutexLock lock(&mu);
        keys.push_back(*std::move(key));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(keys.size(), size_t{kThreads * kPerThread});
  std::set<std::string> ids, secrets;
  for (const NewKey& k : keys) {
    ids.insert(k.record.id);
    secrets.insert(k.secret);
    auto found = store_->FindBySecret(k.secret);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(found->id, k.record.id);
  }
  EXPECT_EQ(ids.size(), keys.size());
  EXPECT_EQ(secrets.size(), keys.size());
  auto all = store_->List("");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), keys.size());
}

}  // namespace
}  // namespace sluice::keystore
