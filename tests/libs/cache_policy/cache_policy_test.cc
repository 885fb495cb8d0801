// DecideCaching: what a tenant's policy and a request's own say allow.
#include "libs/cache_policy/cache_policy.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/config.pb.h"

namespace sluice::cache_policy {
namespace {

using sluice::v1::CachePolicy;
using sluice::v1::ChatRequest;

ChatRequest WithTemperature(double temperature) {
  ChatRequest request;
  request.set_temperature(temperature);
  return request;
}

TEST(DecideCachingTest, DefaultCachesTemperatureZero) {
  CacheDecision decision = DecideCaching(WithTemperature(0), nullptr);
  EXPECT_TRUE(decision.read);
  EXPECT_TRUE(decision.write);
  EXPECT_EQ(decision.reason, "");
}

TEST(DecideCachingTest, DefaultCachesASeededRequest) {
  ChatRequest request = WithTemperature(0.9);
  request.set_seed(42);
  CacheDecision decision = DecideCaching(request, nullptr);
  EXPECT_TRUE(decision.read);
  EXPECT_TRUE(decision.write);
}

TEST(DecideCachingTest, DefaultSkipsSamplingRequests) {
  for (const ChatRequest& request : {WithTemperature(0.8), ChatRequest()}) {
    CacheDecision decision = DecideCaching(request, nullptr);
    EXPECT_FALSE(decision.read);
    EXPECT_FALSE(decision.write);
    EXPECT_EQ(decision.reason, "not_deterministic");
  }
}

TEST(DecideCachingTest, DefaultPolicyProtoMatchesNull) {
  CachePolicy defaults;
  CacheDecision decision = DecideCaching(WithTemperature(0.8), &defaults);
  EXPECT_FALSE(decision.read);
  EXPECT_EQ(decision.reason, "not_deterministic");
  EXPECT_TRUE(DecideCaching(WithTemperature(0), &defaults).read);
}

TEST(DecideCachingTest, BypassNeitherReadsNorWrites) {
  CachePolicy always;
  always.set_mode(sluice::v1::CACHE_MODE_ALWAYS);
  ChatRequest request = WithTemperature(0);
  request.mutable_context()->set_cache_mode("bypass");
  for (const CachePolicy* policy : {static_cast<const CachePolicy*>(nullptr),
                                    static_cast<const CachePolicy*>(&always)}) {
    CacheDecision decision = DecideCaching(request, policy);
    EXPECT_FALSE(decision.read);
    EXPECT_FALSE(decision.write);
    EXPECT_EQ(decision.reason, "bypass");
  }
}

TEST(DecideCachingTest, ForceReadsAndWritesASamplingRequest) {
  ChatRequest request = WithTemperature(0.8);
  request.mutable_context()->set_cache_mode("force");
  CacheDecision decision = DecideCaching(request, nullptr);
  EXPECT_TRUE(decision.read);
  EXPECT_TRUE(decision.write);
  EXPECT_EQ(decision.reason, "");
}

TEST(DecideCachingTest, RefreshWritesButDoesNotRead) {
  for (double temperature : {0.0, 0.8}) {
    ChatRequest request = WithTemperature(temperature);
    request.mutable_context()->set_cache_mode("refresh");
    CacheDecision decision = DecideCaching(request, nullptr);
    EXPECT_FALSE(decision.read);
    EXPECT_TRUE(decision.write);
  }
}

TEST(DecideCachingTest, TenantAlwaysCachesSamplingRequests) {
  CachePolicy policy;
  policy.set_mode(sluice::v1::CACHE_MODE_ALWAYS);
  CacheDecision decision = DecideCaching(WithTemperature(1.2), &policy);
  EXPECT_TRUE(decision.read);
  EXPECT_TRUE(decision.write);
}

TEST(DecideCachingTest, TenantNeverCachesNothing) {
  CachePolicy policy;
  policy.set_mode(sluice::v1::CACHE_MODE_NEVER);
  ChatRequest request = WithTemperature(0);
  request.set_seed(1);
  CacheDecision decision = DecideCaching(request, &policy);
  EXPECT_FALSE(decision.read);
  EXPECT_FALSE(decision.write);
  EXPECT_EQ(decision.reason, "tenant_never");
  // No request header overrides the operator's off switch.
  for (const char* mode : {"force", "refresh"}) {
    request.mutable_context()->set_cache_mode(mode);
    decision = DecideCaching(request, &policy);
    EXPECT_FALSE(decision.read) << mode;
    EXPECT_FALSE(decision.write) << mode;
  }
}

TEST(DecideCachingTest, DefaultTtlIsAnHour) {
  EXPECT_EQ(DecideCaching(WithTemperature(0), nullptr).ttl, absl::Hours(1));
}

TEST(DecideCachingTest, TenantTtl) {
  CachePolicy policy;
  policy.mutable_ttl()->set_seconds(600);
  EXPECT_EQ(DecideCaching(WithTemperature(0), &policy).ttl, absl::Minutes(10));
}

TEST(DecideCachingTest, TenantTtlIsClampedToTenantMaxTtl) {
  CachePolicy policy;
  policy.mutable_ttl()->set_seconds(3 * 3600);
  policy.mutable_max_ttl()->set_seconds(2 * 3600);
  EXPECT_EQ(DecideCaching(WithTemperature(0), &policy).ttl, absl::Hours(2));
}

TEST(DecideCachingTest, RequestTtlOverridesTenantTtl) {
  CachePolicy policy;
  policy.mutable_ttl()->set_seconds(600);
  ChatRequest request = WithTemperature(0);
  request.mutable_context()->set_cache_ttl_seconds(7200);
  EXPECT_EQ(DecideCaching(request, &policy).ttl, absl::Hours(2));
  request.mutable_context()->set_cache_ttl_seconds(30);
  EXPECT_EQ(DecideCaching(request, &policy).ttl, absl::Seconds(30));
}

TEST(DecideCachingTest, RequestTtlIsClampedToDefaultMaxTtl) {
  ChatRequest request = WithTemperature(0);
  request.mutable_context()->set_cache_ttl_seconds(30 * 24 * 3600);
  EXPECT_EQ(DecideCaching(request, nullptr).ttl, absl::Hours(24));
}

TEST(DecideCachingTest, RequestTtlIsClampedToTenantMaxTtl) {
  CachePolicy policy;
  policy.mutable_max_ttl()->set_seconds(1800);
  ChatRequest request = WithTemperature(0);
  request.mutable_context()->set_cache_ttl_seconds(3600);
  EXPECT_EQ(DecideCaching(request, &policy).ttl, absl::Minutes(30));
}

TEST(DecideCachingTest, NegativeRequestTtlIsIgnored) {
  ChatRequest request = WithTemperature(0);
  request.mutable_context()->set_cache_ttl_seconds(-5);
  EXPECT_EQ(DecideCaching(request, nullptr).ttl, absl::Hours(1));
}

}  // namespace
}  // namespace sluice::cache_policy
