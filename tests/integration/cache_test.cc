// The response cache end to end: HTTP clients → ingress → router → cache
// service (L1 + a real redis-server) → adapters → simulator. What the
// simulator counts is what the cache did not save.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/libs/redis/redis_server.h"
#include "tests/support/http_test_client.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using redis::testing::RedisServer;

constexpr char kDeterministic[] =
    R"({"model":"deepseek-chat","temperature":0,"messages":[{"role":"user","content":"What is a sluice gate?"}]})";
// The same request with keys in another order and other spacing.
constexpr char kDeterministicReordered[] =
    R"({ "messages" : [ { "content":"What is a sluice gate?", "role":"user" } ], "temperature" : 0.0, "model":"deepseek-chat" })";
constexpr char kStreamed[] =
    R"({"model":"deepseek-chat","temperature":0,"stream":true,"stream_options":{"include_usage":true},)"
    R"("messages":[{"role":"user","content":"Tell me about locks and weirs"}]})";
constexpr char kSampled[] =
    R"({"model":"deepseek-chat","temperature":0.8,"messages":[{"role":"user","content":"Write a haiku"}]})";

std::string Content(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.HasMember("choices")) return "<no content>";
  return doc["choices"][0]["message"]["content"].GetString();
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisServer::BinaryPath().empty()) GTEST_FAIL() << "no redis-server";
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    gateway_ = StartGateway();
    ASSERT_NE(gateway_, nullptr);
  }

  std::unique_ptr<Gateway> StartGateway(absl::Duration sim_ttft = absl::ZeroDuration(),
                                        Gateway::Layout layout = Gateway::Layout::kOneProcess) {
    GatewayOptions options;
    options.extra_yaml = absl::StrCat("cache:\n  redis: ", redis_->address(),
                                      "\n  redis_timeout: 100ms\n");
    options.sim_ttft = sim_ttft;
    auto gateway = Gateway::Start(layout, options);
    EXPECT_TRUE(gateway.ok()) << gateway.status();
    return gateway.ok() ? *std::move(gateway) : nullptr;
  }

  HttpAnswer Chat(const std::string& body, std::vector<std::string> headers = {},
                  const char* key = kDemoKey) {
    headers.push_back(absl::StrCat("Authorization: Bearer ", key));
    headers.push_back("Content-Type: application/json");
    return HttpCall("POST", gateway_->http_base() + "/v1/chat/completions",
                    headers, body);
  }

  HttpAnswer Admin(const std::string& method, const std::string& path,
                   const char* key = kAdminKey) {
    return HttpCall(method, gateway_->http_base() + path,
                    {absl::StrCat("Authorization: Bearer ", key)});
  }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(CacheTest, SecondIdenticalRequestIsAHitWhateverTheJsonLayout) {
  HttpAnswer first = Chat(kDeterministic);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("x-sluice-cache"), "miss");
  HttpAnswer second = Chat(kDeterministicReordered);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.Header("x-sluice-cache"), "hit");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(gateway_->UpstreamRequests(), 1);

  // A streamed request for the same question is served from the entry too.
  HttpAnswer streamed = Chat(
      R"({"model":"deepseek-chat","temperature":0,"stream":true,"messages":[{"role":"user","content":"What is a sluice gate?"}]})");
  ASSERT_EQ(streamed.status, 200) << streamed.error << streamed.body;
  EXPECT_EQ(streamed.Header("x-sluice-cache"), "hit");
  std::string text;
  for (const std::string& data : SseData(streamed.body)) {
    if (data == "[DONE]") continue;
    rapidjson::Document chunk;
    chunk.Parse(data.c_str());
    for (const auto& choice : chunk["choices"].GetArray()) {
      if (choice["delta"].HasMember("content") && choice["delta"]["content"].IsString()) {
        text += choice["delta"]["content"].GetString();
      }
    }
  }
  EXPECT_EQ(text, Content(first.body));
  EXPECT_EQ(gateway_->UpstreamRequests(), 1);
}

TEST_F(CacheTest, SampledRequestsAreNotCachedUnlessForced) {
  HttpAnswer a = Chat(kSampled);
  HttpAnswer b = Chat(kSampled);
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(a.Header("x-sluice-cache"), "bypass");
  EXPECT_EQ(b.Header("x-sluice-cache"), "bypass");
  EXPECT_EQ(gateway_->UpstreamRequests(), 2);

  EXPECT_EQ(Chat(kSampled, {"x-sluice-cache: force"}).Header("x-sluice-cache"), "miss");
  EXPECT_EQ(Chat(kSampled, {"x-sluice-cache: force"}).Header("x-sluice-cache"), "hit");
  EXPECT_EQ(gateway_->UpstreamRequests(), 3);
}

TEST_F(CacheTest, BypassAndRefresh) {
  ASSERT_EQ(Chat(kDeterministic).Header("x-sluice-cache"), "miss");
  HttpAnswer bypass = Chat(kDeterministic, {"x-sluice-cache: bypass"});
  EXPECT_EQ(bypass.Header("x-sluice-cache"), "bypass");
  EXPECT_EQ(gateway_->UpstreamRequests(), 2);
  HttpAnswer refresh = Chat(kDeterministic, {"x-sluice-cache: refresh"});
  EXPECT_EQ(refresh.Header("x-sluice-cache"), "miss");
  EXPECT_EQ(gateway_->UpstreamRequests(), 3);
  EXPECT_EQ(Chat(kDeterministic).Header("x-sluice-cache"), "hit");
  EXPECT_EQ(gateway_->UpstreamRequests(), 3);

  HttpAnswer bad = Chat(kDeterministic, {"x-sluice-cache: sometimes"});
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("x-sluice-cache"));
  EXPECT_EQ(Chat(kDeterministic, {"x-sluice-cache-ttl: -5"}).status, 400);
}

TEST_F(CacheTest, EntriesExpireAfterTheirTtl) {
  absl::Time stored = absl::Now();
  ASSERT_EQ(Chat(kDeterministic, {"x-sluice-cache-ttl: 1"}).Header("x-sluice-cache"), "miss");
  // Wait for the entry to go, with a deadline; each poll that still hits is
  // served without an upstream call.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string seen;
  while (absl::Now() < deadline) {
    seen = Chat(kDeterministic, {"x-sluice-cache-ttl: 1"}).Header("x-sluice-cache");
    if (seen == "miss") break;
    ASSERT_EQ(seen, "hit");
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(seen, "miss");
  EXPECT_GE(absl::Now() - stored, absl::Seconds(1));
  EXPECT_EQ(gateway_->UpstreamRequests(), 2);
}

TEST_F(CacheTest, StreamReplayIsByteForByteTheLiveStream) {
  HttpAnswer live = Chat(kStreamed);
  ASSERT_EQ(live.status, 200) << live.body;
  EXPECT_EQ(live.Header("x-sluice-cache"), "miss");
  HttpAnswer replay = Chat(kStreamed);
  ASSERT_EQ(replay.status, 200);
  EXPECT_EQ(replay.Header("x-sluice-cache"), "hit");
  EXPECT_EQ(replay.body, live.body);
  EXPECT_THAT(replay.body, HasSubstr("data: [DONE]"));
  EXPECT_EQ(gateway_->UpstreamRequests(), 1);
}

TEST_F(CacheTest, TenantsNeverSeeEachOthersEntries) {
  ASSERT_EQ(Chat(kDeterministic, {}, kDemoKey).Header("x-sluice-cache"), "miss");
  EXPECT_EQ(Chat(kDeterministic, {}, kAcmeKey).Header("x-sluice-cache"), "miss");
  EXPECT_EQ(gateway_->UpstreamRequests(), 2);
  EXPECT_EQ(Chat(kDeterministic, {}, kAcmeKey).Header("x-sluice-cache"), "hit");
  EXPECT_EQ(Chat(kDeterministic, {}, kDemoKey).Header("x-sluice-cache"), "hit");
}

TEST_F(CacheTest, AdminInvalidatesByTenantAndReportsStats) {
  ASSERT_EQ(Chat(kDeterministic, {}, kDemoKey).Header("x-sluice-cache"), "miss");
  ASSERT_EQ(Chat(kDeterministic, {}, kAcmeKey).Header("x-sluice-cache"), "miss");
  ASSERT_EQ(Chat(kDeterministic, {}, kDemoKey).Header("x-sluice-cache"), "hit");

  EXPECT_EQ(Admin("DELETE", "/admin/cache?tenant=demo", kDemoKey).status, 403);
  EXPECT_EQ(HttpCall("DELETE", gateway_->http_base() + "/admin/cache").status, 401);
  HttpAnswer dropped = Admin("DELETE", "/admin/cache?tenant=demo");
  ASSERT_EQ(dropped.status, 200) << dropped.body;
  EXPECT_THAT(dropped.body, HasSubstr("\"l1_entries\":1"));
  EXPECT_THAT(dropped.body, HasSubstr("\"l2_entries\":1"));

  EXPECT_EQ(Chat(kDeterministic, {}, kDemoKey).Header("x-sluice-cache"), "miss");
  EXPECT_EQ(Chat(kDeterministic, {}, kAcmeKey).Header("x-sluice-cache"), "hit");

  HttpAnswer stats = Admin("GET", "/admin/cache/stats?tenant=demo");
  ASSERT_EQ(stats.status, 200) << stats.body;
  rapidjson::Document doc;
  doc.Parse(stats.body.c_str());
  ASSERT_EQ(doc["data"].Size(), 1u) << stats.body;
  EXPECT_EQ(doc["data"][0]["hits"].GetInt64(), 1);
  EXPECT_EQ(doc["data"][0]["misses"].GetInt64(), 2);
  EXPECT_GT(doc["data"][0]["bytes"].GetInt64(), 0);
  EXPECT_TRUE(doc["l2_connected"].GetBool());

  HttpAnswer by_model = Admin("DELETE", "/admin/cache?model=deepseek-chat");
  ASSERT_EQ(by_model.status, 200);
  EXPECT_EQ(Chat(kDeterministic, {}, kAcmeKey).Header("x-sluice-cache"), "miss");
}

TEST_F(CacheTest, FiftyIdenticalRequestsInFlightMakeOneUpstreamCall) {
  gateway_.reset();
  gateway_ = StartGateway(absl::Milliseconds(500));
  ASSERT_NE(gateway_, nullptr);
  constexpr int kClients = 50;
  std::vector<HttpAnswer> answers(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      // Half stream, half not: followers of both kinds.
      answers[i] = Chat(i % 2 == 0 ? R"({"model":"deepseek-chat","temperature":0,"stream":true,"messages":[{"role":"user","content":"What is a sluice gate?"}]})"
                                   : kDeterministic);
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(gateway_->UpstreamRequests(), 1);
  int miss = 0, shared_or_hit = 0;
  std::string expected = Content(answers[1].body);
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(answers[i].status, 200) << i << " " << answers[i].error << answers[i].body;
    std::string cache = answers[i].Header("x-sluice-cache");
    if (cache == "miss") ++miss;
    if (cache == "shared" || cache == "hit") ++shared_or_hit;
    if (i % 2 == 1) {
      EXPECT_EQ(Content(answers[i].body), expected);
    } else {
      EXPECT_THAT(answers[i].body, HasSubstr("data: [DONE]"));
    }
  }
  EXPECT_EQ(miss, 1);
  EXPECT_EQ(shared_or_hit, kClients - 1);
}

TEST_F(CacheTest, RedisKilledMidTestRequestsAreStillServed) {
  ASSERT_EQ(Chat(kDeterministic).Header("x-sluice-cache"), "miss");
  redis_->Stop();
  // L1 still answers what it holds...
  HttpAnswer held = Chat(kDeterministic);
  EXPECT_EQ(held.status, 200);
  EXPECT_EQ(held.Header("x-sluice-cache"), "hit");
  // ...and new questions go upstream, quickly.
  absl::Time start = absl::Now();
  HttpAnswer fresh = Chat(R"({"model":"deepseek-chat","temperature":0,"messages":[{"role":"user","content":"And a weir?"}]})");
  EXPECT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(gateway_->UpstreamRequests(), 2);
  HttpAnswer metrics = HttpCall("GET", gateway_->http_base() + "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("sluice_redis_connected 0"));

  ASSERT_TRUE(redis_->Restart().ok());
  // Back: a new entry reaches Redis again (another gateway sharing it sees it).
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline &&
         HttpCall("GET", gateway_->http_base() + "/metrics").body.find("sluice_redis_connected 1") ==
             std::string::npos) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(Chat(kStreamed).Header("x-sluice-cache"), "miss");
  std::unique_ptr<Gateway> other = StartGateway();
  ASSERT_NE(other, nullptr);
  // Its Redis client connects in the background; until then L2 reads miss.
  deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline &&
         HttpCall("GET", other->http_base() + "/metrics").body.find("sluice_redis_connected 1") ==
             std::string::npos) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  HttpAnswer from_l2 = HttpCall("POST", other->http_base() + "/v1/chat/completions",
                                {absl::StrCat("Authorization: Bearer ", kDemoKey),
                                 "Content-Type: application/json"},
                                kStreamed);
  EXPECT_EQ(from_l2.Header("x-sluice-cache"), "hit") << from_l2.status << " " << from_l2.error << from_l2.body;
  EXPECT_EQ(other->UpstreamRequests(), 0);
}

TEST_F(CacheTest, SplitLayoutCachesThroughTheCacheProcess) {
  gateway_.reset();
  gateway_ = StartGateway(absl::ZeroDuration(), Gateway::Layout::kSplit);
  ASSERT_NE(gateway_, nullptr);
  ASSERT_EQ(Chat(kStreamed).Header("x-sluice-cache"), "miss");
  HttpAnswer replay = Chat(kStreamed);
  EXPECT_EQ(replay.Header("x-sluice-cache"), "hit");
  EXPECT_EQ(gateway_->UpstreamRequests(), 1);
}

}  // namespace
}  // namespace sluice::testing
