// Rate limits at ingress: a tenant's requests per minute hold exactly across
// three ingress processes sharing one redis-server (each reserves in one
// Lua script), refused requests get OpenAI's 429 with Retry-After and the
// x-ratelimit-* headers, and are metered.
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/usage_events.h"
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

// A token count is a request of its key: it takes one of the per-minute
// requests (token limits do not apply: it uses no upstream tokens), a
// refused one gets the same 429, and each count is metered once as a
// "token_count" operation with no usage and no price, the count in its
// decision.
TEST(AdmissionTest, TokenCountsTakeARequestOfTheLimitAndAreMetered) {
  GatewayOptions options;
  options.acme_limits = "{rpm: 3, tpm: 5}";
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  UsageEvents usage((*gateway)->brokers(), "admission-token-count");
  const std::string base = (*gateway)->http_base();
  auto call = [&](const std::string& path, const std::string& id) {
    return HttpCall("POST", base + path,
                    {absl::StrCat("Authorization: Bearer ", kAcmeKey),
                     "Content-Type: application/json",
                     absl::StrCat("x-client-request-id: ", id)},
                    kAsk);
  };
  HttpAnswer first = call("/v1/token-count", "count-1");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("x-ratelimit-remaining-requests"), "2");
  int64_t counted = 0;
  {
    rapidjson::Document doc;
    doc.Parse(first.body.c_str());
    ASSERT_TRUE(doc.IsObject()) << first.body;
    counted = doc["prompt_tokens"].GetInt64();
  }
  // More than the 5 tokens a minute the tenant may send upstream: a chat
  // request of this prompt is refused on tokens, a count is not.
  ASSERT_GT(counted, 5);
  HttpAnswer chat = call("/v1/chat/completions", "chat-1");
  EXPECT_EQ(chat.status, 429) << chat.body;
  EXPECT_THAT(chat.body, HasSubstr("tokens per minute"));
  EXPECT_EQ(call("/v1/token-count", "count-2").status, 200);
  HttpAnswer third = call("/v1/token-count", "count-3");
  EXPECT_EQ(third.status, 200) << third.body;
  EXPECT_EQ(third.Header("x-ratelimit-remaining-requests"), "0");
  HttpAnswer fourth = call("/v1/token-count", "count-4");
  EXPECT_EQ(fourth.status, 429) << fourth.body;
  EXPECT_THAT(fourth.body, HasSubstr("requests per minute"));
  EXPECT_THAT(fourth.body, HasSubstr("\"type\":\"rate_limit_error\""));
  EXPECT_FALSE(fourth.Header("retry-after").empty());
  EXPECT_EQ((*gateway)->UpstreamRequests(), 0);

  const std::set<std::string> ids = {"count-1", "count-2", "count-3",
                                     "count-4", "chat-1"};
  std::map<std::string, std::vector<sluice::v1::UsageEvent>> by_id;
  for (sluice::v1::UsageEvent& event : usage.WaitFor(ids)) {
    by_id[event.client_request_id()].push_back(std::move(event));
  }
  for (const std::string& id : ids) {
    ASSERT_EQ(by_id[id].size(), 1u) << id;
    const sluice::v1::UsageEvent& event = by_id[id][0];
    EXPECT_EQ(event.tenant(), "acme") << id;
    EXPECT_EQ(event.model(), "deepseek-chat") << id;
    if (id == "chat-1") {
      EXPECT_EQ(event.operation(), "") << id;
      continue;
    }
    EXPECT_EQ(event.operation(), "token_count") << id;
    EXPECT_EQ(event.usage().total_tokens(), 0) << id;
    EXPECT_EQ(event.decision().price_micro_usd(), 0) << id;
    if (id == "count-4") {
      EXPECT_EQ(event.status(), 429);
      EXPECT_EQ(event.error_type(), "rate_limit_error");
    } else {
      EXPECT_EQ(event.status(), 200) << id;
      EXPECT_EQ(event.decision().prompt_tokens_estimate(), counted) << id;
      EXPECT_TRUE(event.decision().prompt_tokens_exact()) << id;
    }
  }
}

}  // namespace
}  // namespace sluice::testing
