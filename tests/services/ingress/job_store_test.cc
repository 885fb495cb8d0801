// JobStore on SQLite and on PostgreSQL (the same tests): results kept per
// tenant and custom_id, the first result stored wins, a result stored
// through one connection answers another (a replica, or the next process),
// and a job's id that no other tenant's job can share, whatever the
// tenants are named.
#include "services/ingress/job_store.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/services/ingress/jobs_test_database.h"

namespace sluice::ingress {
namespace {

class JobStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // Without SLUICE_TEST_POSTGRES the PostgreSQL cases fail, never skip.
    absl::StatusOr<std::unique_ptr<JobsTestDatabase>> db =
        JobsTestDatabase::Make(GetParam());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  // Another store over the same data.
  JobStorePtr Open() {
    absl::StatusOr<JobStorePtr> store = db_->OpenJobStore();
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // The line `store` keeps for `id`; empty when none.
  static std::string StoredLine(JobStore& store, const std::string& id) {
    absl::StatusOr<absl::flat_hash_map<std::string, std::string>> lines = store.Results({id});
    EXPECT_TRUE(lines.ok()) << lines.status();
    if (!lines.ok()) return "";
    auto line = lines->find(id);
    return line == lines->end() ? "" : line->second;
  }

  std::unique_ptr<JobsTestDatabase> db_;
  JobStorePtr store_;  // after db_: closed before the database goes
};

INSTANTIATE_TEST_SUITE_P(Stores, JobStoreTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(JobStoreTest, AResultIsItsTenantsOnly) {
  ASSERT_TRUE(store_->Store({{JobStore::JobId("demo", "j1"), "demo's"}}).ok());
  absl::StatusOr<std::string> mine = store_->FinishedResult("demo", "j1");
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(*mine, "demo's");
  EXPECT_TRUE(absl::IsNotFound(store_->FinishedResult("acme", "j1").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->FinishedResult("demo", "j2").status()));
}

TEST_P(JobStoreTest, TenantNamesThatExtendEachOtherNeverShareAJob) {
  ASSERT_TRUE(store_->Store({{JobStore::JobId("demo/eu", "x"), "eu's"}}).ok());
  EXPECT_TRUE(
      absl::IsNotFound(store_->FinishedResult("demo", "eu/x").status()));
  absl::StatusOr<std::string> eu = store_->FinishedResult("demo/eu", "x");
  ASSERT_TRUE(eu.ok()) << eu.status();
  EXPECT_EQ(*eu, "eu's");
}

TEST_P(JobStoreTest, TheFirstResultStoredWins) {
  const std::string id = JobStore::JobId("demo", "once");
  ASSERT_TRUE(store_->Store({{id, "first"}}).ok());
  // A job run twice (on two replicas, or before and after a crash): the
  // second answer changes nothing, and the rest of its commit is stored.
  const std::string other = JobStore::JobId("demo", "other");
  ASSERT_TRUE(store_->Store({{id, "second"}, {other, "other's"}}).ok());
  EXPECT_EQ(StoredLine(*store_, id), "first");
  EXPECT_EQ(StoredLine(*store_, other), "other's");
}

TEST_P(JobStoreTest, AResultStoredThroughOneReplicaAnswersAnother) {
  JobStorePtr replica = Open();
  ASSERT_NE(replica, nullptr);
  const std::string id = JobStore::JobId("demo", "j1");
  EXPECT_EQ(StoredLine(*replica, id), "");
  ASSERT_TRUE(store_->Store({{id, "from the first"}}).ok());
  EXPECT_EQ(StoredLine(*replica, id), "from the first");
  // And after a restart (a new store, the old one closed).
  store_.reset();
  JobStorePtr restarted = Open();
  ASSERT_NE(restarted, nullptr);
  EXPECT_EQ(StoredLine(*restarted, id), "from the first");
}

TEST_P(JobStoreTest, ALargeCommitStoresEveryLine) {
  // More lines than one statement takes (a consumer poll is at most a few
  // hundred; a commit of any size must work).
  std::vector<std::pair<std::string, std::string>> lines;
  for (int i = 0; i < 1234; ++i) {
    lines.emplace_back(
        JobStore::JobId("demo", absl::StrCat("job-", i)),
        absl::StrCat("{\"n\":", i, ",\"text\":\"it's \\\"quoted\\\" é\"}"));
  }
  ASSERT_TRUE(store_->Store(lines).ok());
  // One lookup for them all (and more than one statement takes), with ids
  // never stored among them: every stored line, and nothing else.
  std::vector<std::string> ids = {JobStore::JobId("demo", "never")};
  for (const auto& [id, line] : lines) ids.push_back(id);
  ids.push_back(JobStore::JobId("acme", "job-0"));
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> found = store_->Results(ids);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->size(), lines.size());
  for (const auto& [id, line] : lines) {
    auto it = found->find(id);
    ASSERT_NE(it, found->end()) << id;
    EXPECT_EQ(it->second, line);
  }
}

TEST(JobIdTest, TenantNamesThatExtendEachOtherGetOtherIds) {
  // Tenant "demo/eu", job "x"; tenant "demo", job "eu/x".
  EXPECT_NE(JobStore::JobId("demo/eu", "x"), JobStore::JobId("demo", "eu/x"));
  EXPECT_NE(JobStore::JobId("a%2Fb", "x"), JobStore::JobId("a/b", "x"));
}

TEST(JobIdTest, PlainTenantNamesKeepTheIdsStoredBefore) {
  EXPECT_EQ(JobStore::JobId("demo", "x"), "demo/x");
  EXPECT_EQ(JobStore::JobId("acme-eu_2.b", "a/b"), "acme-eu_2.b/a/b");
}

}  // namespace
}  // namespace sluice::ingress
