// JobStore: results kept per tenant and custom_id, and a job's id that no
// other tenant's job can share, whatever the tenants are named.
#include "services/ingress/job_store.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace sluice::ingress {
namespace {

std::unique_ptr<JobStore> OpenStore() {
  absl::StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(":memory:");
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

TEST(JobStoreTest, AResultIsItsTenantsOnly) {
  std::unique_ptr<JobStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Store({{JobStore::JobId("demo", "j1"), "demo's"}}).ok());
  absl::StatusOr<std::string> mine = store->FinishedResult("demo", "j1");
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(*mine, "demo's");
  EXPECT_TRUE(absl::IsNotFound(store->FinishedResult("acme", "j1").status()));
  EXPECT_TRUE(absl::IsNotFound(store->FinishedResult("demo", "j2").status()));
}

TEST(JobStoreTest, TenantNamesThatExtendEachOtherNeverShareAJob) {
  // Tenant "demo/eu", job "x"; tenant "demo", job "eu/x".
  EXPECT_NE(JobStore::JobId("demo/eu", "x"), JobStore::JobId("demo", "eu/x"));
  EXPECT_NE(JobStore::JobId("a%2Fb", "x"), JobStore::JobId("a/b", "x"));
  std::unique_ptr<JobStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Store({{JobStore::JobId("demo/eu", "x"), "eu's"}}).ok());
  EXPECT_TRUE(absl::IsNotFound(store->FinishedResult("demo", "eu/x").status()));
  absl::StatusOr<std::string> eu = store->FinishedResult("demo/eu", "x");
  ASSERT_TRUE(eu.ok()) << eu.status();
  EXPECT_EQ(*eu, "eu's");
}

TEST(JobStoreTest, PlainTenantNamesKeepTheIdsStoredBefore) {
  EXPECT_EQ(JobStore::JobId("demo", "x"), "demo/x");
  EXPECT_EQ(JobStore::JobId("acme-eu_2.b", "a/b"), "acme-eu_2.b/a/b");
}

}  // namespace
}  // namespace sluice::ingress
