// Rate limits at ingress: a tenant's requests per minute hold exactly across
// three ingress processes sharing one redis-server (each reserves in one
// Lua script), refused requests get OpenAI's 429 with Retry-After and the
// x-ratelimit-* headers, and are metered.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/libs/redis/redis_server.h"
#include "tests/support/http_test_client.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using redis::testing::RedisServer;

constexpr char kAsk[] =
    R"({"model":"deepseek-chat","messages":[{"role":"user","content":"What is a sluice gate?"}]})";

HttpAnswer Ask(const std::string& base, const char* key) {
  return HttpCall("POST", base + "/v1/chat/completions",
                  {absl::StrCat("Authorization: Bearer ", key),
                   "Content-Type: application/json"},
                  kAsk);
}

TEST(AdmissionTest, RequestsPerMinuteHoldAcrossThreeIngressReplicas) {
  if (RedisServer::BinaryPath().empty()) GTEST_FAIL() << "no redis-server";
  auto redis = RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  GatewayOptions options;
  options.acme_limits = "{rpm: 10}";
  options.extra_yaml = SharedAdmissionYaml((*redis)->address());
  auto gateway = Gateway::Start(Gateway::Layout::kSplit, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  absl::StatusOr<std::vector<std::string>> bases =
      (*gateway)->IngressReplicas(3);
  ASSERT_TRUE(bases.ok()) << bases.status();
  const std::vector<std::string>& replicas = *bases;

  constexpr int kRequests = 30;
  std::vector<HttpAnswer> answers(kRequests);
  std::vector<std::string> asked(kRequests);
  std::vector<std::thread> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back([&, i] {
      asked[i] = replicas[i % replicas.size()];
      answers[i] = Ask(asked[i], kAcmeKey);
    });
  }
  for (std::thread& client : clients) client.join();

  int admitted = 0, refused = 0;
  for (int i = 0; i < kRequests; ++i) {
    const HttpAnswer& answer = answers[i];
    if (answer.status == 0) {
      ADD_FAILURE() << "no answer from " << asked[i] << ": " << answer.error
                    << "; /health now: "
                    << HttpCall("GET", asked[i] + "/health").status;
      continue;
    }
    if (answer.status == 200) {
      ++admitted;
      EXPECT_EQ(answer.Header("x-ratelimit-limit-requests"), "10");
    } else {
      ASSERT_EQ(answer.status, 429) << answer.body << answer.error;
      ++refused;
      EXPECT_THAT(answer.body, HasSubstr("\"type\":\"rate_limit_error\""));
      int64_t retry_after = 0;
      EXPECT_TRUE(absl::SimpleAtoi(answer.Header("retry-after"), &retry_after))
          << answer.Header("retry-after");
      EXPECT_GT(retry_after, 0);
      EXPECT_EQ(answer.Header("x-ratelimit-remaining-requests"), "0");
    }
  }
  // Never more than the limit, whichever replica answered.
  EXPECT_EQ(admitted, 10);
  EXPECT_EQ(refused, kRequests - 10);
  EXPECT_EQ((*gateway)->UpstreamRequests(), 10);

  // Another tenant has no limits and is not affected.
  EXPECT_EQ(Ask(replicas[0], kDemoKey).status, 200);
}

TEST(AdmissionTest, WithoutRedisTheLimitHoldsInProcess) {
  GatewayOptions options;
  options.acme_limits = "{rpm: 2}";
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_EQ(HttpCall("GET", (*gateway)->http_base() + "/ready").status, 200);
  EXPECT_EQ(Ask((*gateway)->http_base(), kAcmeKey).status, 200);
  HttpAnswer second = Ask((*gateway)->http_base(), kAcmeKey);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.Header("x-ratelimit-remaining-requests"), "0");
  HttpAnswer third = Ask((*gateway)->http_base(), kAcmeKey);
  EXPECT_EQ(third.status, 429) << third.body;
  EXPECT_FALSE(third.Header("retry-after").empty());
  EXPECT_FALSE(third.Header("x-ratelimit-reset-requests").empty());
}

// Limits that fail closed on a Redis that is gone: the replica says it is
// not ready (a load balancer takes it out) and refuses chat requests with
// 503 rather than admitting them unchecked.
TEST(AdmissionTest, ReadyIsFalseWhileClosedLimitsCannotBeChecked) {
  if (RedisServer::BinaryPath().empty()) GTEST_FAIL() << "no redis-server";
  auto redis = RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  const std::string address = (*redis)->address();
  redis->reset();  // nothing listens there any more
  GatewayOptions options;
  options.acme_limits = "{rpm: 10}";
  options.extra_yaml = SharedAdmissionYaml(address);
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  HttpAnswer ready = HttpCall("GET", (*gateway)->http_base() + "/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_THAT(ready.body, HasSubstr("admission redis"));
  HttpAnswer refused = Ask((*gateway)->http_base(), kAcmeKey);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ((*gateway)->UpstreamRequests(), 0);
}

}  // namespace
}  // namespace sluice::testing
