// Virtual keys end to end: created through the admin API and through
// `sluice keys`, stored hashed, used over HTTP and gRPC with their policy
// (models, limits, budget), and revoked on every ingress replica within a
// second.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "sluice/v1/gateway.grpc.pb.h"
#include "libs/hash/sha256.h"
#include "tests/integration/freezable_key_database.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/libs/keystore/test_database.h"
#include "tests/libs/redis/redis_server.h"
#include "tests/support/grpc_callback_queue.h"
#include "tests/support/http_test_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/tcp_proxy.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using redis::testing::RedisServer;

constexpr char kAsk[] =
    R"({"model":"deepseek-chat","messages":[{"role":"user","content":"What is a sluice gate?"}]})";

std::vector<std::string> Auth(const std::string& key) {
  return {absl::StrCat("Authorization: Bearer ", key),
          "Content-Type: application/json"};
}

HttpAnswer Ask(const std::string& base, const std::string& key,
               const std::string& body = kAsk) {
  return HttpCall("POST", base + "/v1/chat/completions", Auth(key), body);
}

HttpAnswer Admin(const std::string& method, const std::string& base,
                 const std::string& path, const std::string& body = "") {
  return HttpCall(method, base + path, Auth(kAdminKey), body);
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  return doc;
}

std::string Member(const rapidjson::Document& doc, const char* name) {
  if (!doc.IsObject() || !doc.HasMember(name) || !doc[name].IsString()) {
    return "";
  }
  return doc[name].GetString();
}

// Polls until `base` refuses `key` with 401; returns how long it took, or
// nullopt when it still served after `limit`.
std::optional<absl::Duration> TimeUntilRefused(const std::string& base,
                                               const std::string& key,
                                               absl::Time since,
                                               absl::Duration limit) {
  while (absl::Now() - since < limit) {
    if (HttpCall("GET", base + "/v1/models", Auth(key)).status == 401) {
      return absl::Now() - since;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return std::nullopt;
}

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override { HoldGrpcCallbackQueue(); }
};

// The key store both ways: SQLite (embedded) and PostgreSQL (./dev test
// starts one and names it in SLUICE_TEST_POSTGRES; skipped without).
class KeyStoreBackendTest
    : public KeysTest,
      public ::testing::WithParamInterface<keystore::TestBackend> {};

TEST_P(KeyStoreBackendTest,
       AdminApiCreatesKeysThatWorkAndRevokesThemOnEveryReplica) {
  if (std::string why = GetParam().skip_reason(); !why.empty()) {
    GTEST_FAIL() << why;
  }
  absl::StatusOr<std::unique_ptr<keystore::TestDatabase>> database =
      GetParam().make();
  ASSERT_TRUE(database.ok()) << database.status();
  GatewayOptions options;
  options.keys = (*database)->KeysConfigYaml();
  auto gateway = Gateway::Start(Gateway::Layout::kSplit, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const std::string a = (*gateway)->http_base();
  absl::StatusOr<std::string> b = (*gateway)->AddIngressReplica();
  ASSERT_TRUE(b.ok()) << b.status();

  const std::string create =
      R"({"tenant":"acme","name":"ci","models":["deepseek-chat"],"rpm":100})";
  // Only the admin key may create keys.
  EXPECT_EQ(HttpCall("POST", a + "/admin/keys", {}, create).status, 401);
  EXPECT_EQ(HttpCall("POST", a + "/admin/keys", Auth(kAcmeKey), create).status,
            403);
  // Bad requests name the field.
  HttpAnswer unknown_tenant =
      Admin("POST", a, "/admin/keys", R"({"tenant":"nobody"})");
  EXPECT_EQ(unknown_tenant.status, 400);
  EXPECT_THAT(unknown_tenant.body, HasSubstr(R"("param":"tenant")"));
  HttpAnswer bad_rpm =
      Admin("POST", a, "/admin/keys", R"({"tenant":"acme","rpm":"lots"})");
  EXPECT_EQ(bad_rpm.status, 400);
  EXPECT_THAT(bad_rpm.body, HasSubstr(R"("param":"rpm")"));
  HttpAnswer unknown_model = Admin("POST", a, "/admin/keys",
                                   R"({"tenant":"acme","models":["gpt-9"]})");
  EXPECT_EQ(unknown_model.status, 400);
  EXPECT_THAT(unknown_model.body, HasSubstr(R"("param":"models")"));

  HttpAnswer created = Admin("POST", a, "/admin/keys", create);
  ASSERT_EQ(created.status, 201) << created.body;
  rapidjson::Document key = Json(created.body);
  const std::string secret = Member(key, "key");
  const std::string id = Member(key, "id");
  EXPECT_THAT(secret, StartsWith("sk-sluice-"));
  EXPECT_THAT(id, StartsWith("key_"));
  // Stored as its hash only.
  absl::StatusOr<std::string> stored = (*database)->DumpAll();
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_THAT(*stored, Not(HasSubstr(secret)));
  EXPECT_THAT(*stored, HasSubstr(hash::Sha256Hex(secret)));
  EXPECT_EQ(Member(key, "tenant"), "acme");
  EXPECT_EQ(Member(key, "last4"), secret.substr(secret.size() - 4));

  // Both replicas take it, and say what sluice itself cost.
  for (const std::string& base : {a, *b}) {
    HttpAnswer answer = Ask(base, secret);
    ASSERT_EQ(answer.status, 200) << answer.body;
    double overhead_ms = -1;
    EXPECT_TRUE(absl::SimpleAtod(answer.Header("x-sluice-overhead-ms"),
                                 &overhead_ms))
        << answer.Header("x-sluice-overhead-ms");
    EXPECT_GE(overhead_ms, 0);
    EXPECT_EQ(answer.Header("x-ratelimit-limit-requests"), "100");
  }
  // Its policy: one model, and /v1/models shows only that one.
  HttpAnswer other_model = Ask(
      a, secret,
      R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(other_model.status, 403) << other_model.body;
  EXPECT_THAT(other_model.body, HasSubstr(R"("param":"model")"));
  // Counting tokens for a model the key may not use is refused too.
  HttpAnswer other_count = HttpCall(
      "POST", a + "/v1/token-count", Auth(secret),
      R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(other_count.status, 403) << other_count.body;
  EXPECT_THAT(other_count.body, HasSubstr("model_not_allowed"));
  EXPECT_EQ(HttpCall("POST", a + "/v1/token-count", Auth(secret),
                     R"({"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]})")
                .status,
            200);
  HttpAnswer models = HttpCall("GET", a + "/v1/models", Auth(secret));
  EXPECT_THAT(models.body, HasSubstr(R"("id":"deepseek-chat")"));
  EXPECT_THAT(models.body, Not(HasSubstr("claude-sonnet-4-5")));
  HttpAnswer all_models = HttpCall("GET", a + "/v1/models", Auth(kAcmeKey));
  EXPECT_THAT(all_models.body, HasSubstr("claude-sonnet-4-5"));

  // Listed without its secret.
  HttpAnswer listed = Admin("GET", a, "/admin/keys?tenant=acme");
  ASSERT_EQ(listed.status, 200);
  EXPECT_THAT(listed.body, HasSubstr(id));
  EXPECT_THAT(listed.body, Not(HasSubstr(secret)));

  // Revoked through replica a: both refuse it within a second.
  EXPECT_EQ(Admin("DELETE", a, "/admin/keys/key_000000000000").status, 404);
  absl::Time revoked = absl::Now();
  ASSERT_EQ(Admin("DELETE", a, "/admin/keys/" + id).status, 200);
  for (const std::string& base : {a, *b}) {
    std::optional<absl::Duration> took =
        TimeUntilRefused(base, secret, revoked, absl::Seconds(1));
    EXPECT_TRUE(took.has_value()) << base << " still takes the revoked key";
  }
  HttpAnswer refused = Ask(*b, secret);
  EXPECT_EQ(refused.status, 401);
  EXPECT_THAT(refused.body, HasSubstr("invalid_api_key"));
  EXPECT_THAT(Admin("GET", a, "/admin/keys").body, HasSubstr(R"("revoked":1)"));
}

INSTANTIATE_TEST_SUITE_P(Stores, KeyStoreBackendTest,
                         ::testing::Values(keystore::SqliteBackend(),
                                           keystore::PostgresBackend()),
                         [](const auto& info) { return info.param.name; });


// A key made of the right shape that no store holds: worth a lookup.
std::string MadeUpKey(int i) {
  std::string key = absl::StrCat("sk-sluice-made-up-", i, "-");
  key.resize(10 + 32, 'x');
  return key;
}

// A PostgreSQL that stops answering (paused: its connections stay open,
// nothing comes back) holds only the key lookups that need it, never the
// request threads: /health, keys in memory and config keys are answered
// meanwhile, and a lookup it leaves hanging is answered 503 after a bounded
// wait rather than never.
TEST_F(KeysTest, AHungKeyDatabaseHoldsOnlyTheLookupsThatNeedIt) {
  absl::StatusOr<FreezableKeyDatabase> keys = StartFreezableKeyDatabase();
  ASSERT_TRUE(keys.ok()) << keys.status();
  TcpProxy* proxy = keys->proxy.get();
  GatewayOptions options;
  options.keys = keys->keys_yaml;
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const std::string base = (*gateway)->http_base();
  HttpAnswer created =
      Admin("POST", base, "/admin/keys", R"({"tenant":"acme"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string known = Member(Json(created.body), "key");
  ASSERT_EQ(Ask(base, known).status, 200);

  proxy->Freeze();
  // More lookups than the server has I/O threads (and than the lookups
  // have threads), each needing the database: made-up keys, and an admin
  // call.
  constexpr int kStuck = 6;
  absl::Mutex mu;
  std::vector<long> statuses;
  std::vector<std::thread> stuck;
  for (int i = 0; i < kStuck; ++i) {
    stuck.emplace_back([&, i] {
      long status = i == 0 ? Admin("GET", base, "/admin/keys").status
                           : Ask(base, MadeUpKey(i)).status;
      absl::MutexLock lock(&mu);
      statuses.push_back(status);
    });
  }
  // Until the first statement reached the paused database.
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (proxy->held_from_clients() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GT(proxy->held_from_clients(), 0);
  // Meanwhile everything that needs no database is answered (each within
  // a bound, so that a held request thread fails here instead of hanging).
  EXPECT_EQ(HttpCallWithin("GET", base + "/health", {}, "", 5000).status, 200);
  EXPECT_EQ(HttpCallWithin("POST", base + "/v1/chat/completions", Auth(known),
                           kAsk, 5000)
                .status,
            200);
  EXPECT_EQ(HttpCallWithin("POST", base + "/v1/chat/completions",
                           Auth(kDemoKey), kAsk, 5000)
                .status,
            200);
  // The lookups are still held...
  {
    absl::MutexLock lock(&mu);
    EXPECT_LT(statuses.size(), static_cast<size_t>(kStuck));
  }
  // ...until their wait runs out: the database is down, 503, not a hang.
  {
    absl::MutexLock lock(&mu);
    auto some = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return !statuses.empty();
    };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&some), absl::Seconds(30)));
    EXPECT_EQ(statuses.front(), 503);
  }
  proxy->Thaw();
  for (std::thread& thread : stuck) thread.join();
  for (long status : statuses) {
    // Refused after the database answered, or out of patience before.
    EXPECT_TRUE(status == 401 || status == 503 || status == 200) << status;
  }
  // Back: keys are made and taken again.
  HttpAnswer again = Admin("POST", base, "/admin/keys", R"({"tenant":"acme"})");
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(Ask(base, Member(Json(again.body), "key")).status, 200);
}

TEST_F(KeysTest, CliCreatesKeysTheGatewayTakesAndRevokes) {
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const std::string base = (*gateway)->http_base();
  auto create = Subprocess::Start(
      {BuiltBinary("apps/sluice/sluice"), "keys", "create", "--config",
       (*gateway)->config_path(), "--tenant", "acme", "--rpm", "600", "--tpm",
       "200000", "--budget-usd", "50", "--models", "deepseek-chat"});
  ASSERT_TRUE(create.ok()) << create.status();
  absl::StatusOr<std::string> line =
      (*create)->WaitForLine("\"object\":\"api_key\"", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status() << (*create)->Output();
  rapidjson::Document key = Json(*line);
  const std::string secret = Member(key, "key");
  const std::string id = Member(key, "id");
  ASSERT_THAT(secret, StartsWith("sk-sluice-"));
  EXPECT_EQ(key["rpm"].GetInt64(), 600);
  EXPECT_EQ(key["tpm"].GetInt64(), 200000);
  EXPECT_DOUBLE_EQ(key["budget_usd"].GetDouble(), 50.0);
  absl::StatusOr<int> created = (*create)->Wait(absl::Seconds(30));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, 0);

  HttpAnswer answer = Ask(base, secret);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.Header("x-ratelimit-limit-requests"), "600");
  EXPECT_EQ(answer.Header("x-ratelimit-limit-tokens"), "200000");

  // Unknown tenants are refused before anything is stored.
  auto bad = Subprocess::Start({BuiltBinary("apps/sluice/sluice"), "keys",
                                "create", "--config",
                                (*gateway)->config_path(), "--tenant", "nobody"});
  ASSERT_TRUE(bad.ok());
  absl::StatusOr<int> refused = (*bad)->Wait(absl::Seconds(30));
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(*refused, 1);

  auto revoke = Subprocess::Start({BuiltBinary("apps/sluice/sluice"), "keys",
                                   "revoke", id, "--config",
                                   (*gateway)->config_path()});
  ASSERT_TRUE(revoke.ok());
  ASSERT_TRUE((*revoke)->WaitForLine("api_key.revoked", absl::Seconds(30)).ok())
      << (*revoke)->Output();
  absl::Time revoked = absl::Now();
  EXPECT_TRUE(
      TimeUntilRefused(base, secret, revoked, absl::Seconds(1)).has_value());
}

// A key's budget under a burst across three replicas sharing one Redis:
// each request reserves its most expensive answer (max_tokens at the output
// price; prompts are free here so the bound is exact), so the burst cannot
// spend more than the budget, and what it refuses is insufficient_quota.
TEST_F(KeysTest, KeyBudgetHoldsUnderABurstAcrossReplicas) {
  if (RedisServer::BinaryPath().empty()) GTEST_FAIL() << "no redis-server";
  auto redis = RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  GatewayOptions options;
  options.deepseek_prices = "output_usd_per_mtok: 10";
  options.extra_yaml = SharedAdmissionYaml((*redis)->address());
  auto gateway = Gateway::Start(Gateway::Layout::kSplit, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  absl::StatusOr<std::vector<std::string>> bases =
      (*gateway)->IngressReplicas(3);
  ASSERT_TRUE(bases.ok()) << bases.status();
  const std::vector<std::string>& replicas = *bases;
  // 20 tokens at $10/Mtok reserve 200 micro-USD; the budget holds 5 of them.
  constexpr int64_t kBudgetMicroUsd = 1000;
  HttpAnswer created =
      Admin("POST", replicas[0], "/admin/keys",
            R"({"tenant":"acme","budget_usd":0.001})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string secret = Member(Json(created.body), "key");
  const std::string ask =
      R"({"model":"deepseek-chat","max_tokens":20,"messages":[{"role":"user","content":"Tell me about sluice gates"}]})";

  constexpr int kRequests = 24;
  std::vector<HttpAnswer> answers(kRequests);
  std::vector<std::thread> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back([&, i] {
      answers[i] = Ask(replicas[i % replicas.size()], secret, ask);
    });
  }
  for (std::thread& client : clients) client.join();

  int admitted = 0;
  int64_t spent = 0;
  for (const HttpAnswer& answer : answers) {
    if (answer.status == 200) {
      ++admitted;
      rapidjson::Document body = Json(answer.body);
      int64_t completion = body["usage"]["completion_tokens"].GetInt64();
      EXPECT_LE(completion, 20);
      spent += completion * 10;  // micro-USD at $10 per million
    } else {
      ASSERT_EQ(answer.status, 429) << answer.body << answer.error;
      EXPECT_THAT(answer.body, HasSubstr(R"("code":"insufficient_quota")"));
    }
  }
  EXPECT_GE(admitted, 5);  // every reservation that fits is admitted
  EXPECT_LT(admitted, kRequests);
  EXPECT_LE(spent, kBudgetMicroUsd);
}

// The tenant's own budget from the config, counted in process, and the gRPC
// API under the same admission as HTTP.
TEST_F(KeysTest, TenantBudgetAndLimitsHoldOverGrpcToo) {
  GatewayOptions options;
  options.deepseek_prices = "output_usd_per_mtok: 10";
  options.acme_limits = "{rpm: 1000, budget_usd: 0.0006}";
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto channel = grpc::CreateChannel((*gateway)->ingress_grpc(),
                                     grpc::InsecureChannelCredentials());
  auto stub = sluice::v1::Gateway::NewStub(channel);
  sluice::v1::ChatRequest request;
  request.set_model("deepseek-chat");
  request.set_max_tokens(20);
  sluice::v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_text("Tell me about sluice gates");

  // 200 micro-USD reserved each: three fit in 600, one at a time over gRPC
  // and HTTP alike, as answers settle to what they cost.
  int served = 0;
  grpc::Status refusal;
  for (int i = 0; i < 20 && refusal.ok(); ++i) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", kAcmeKey));
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    sluice::v1::ChatResponse response;
    grpc::Status status = stub->Complete(&context, request, &response);
    if (status.ok()) {
      ++served;
    } else {
      refusal = status;
    }
  }
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refusal.error_message();
  EXPECT_THAT(refusal.error_message(), HasSubstr("quota"));
  EXPECT_GE(served, 3);
  // HTTP spends the same budget. (An answer settles its reservation just
  // after the client has it, so the refusal above may have come while the
  // last one still held its 200: HTTP may then fit one more, never more
  // than the budget allows: 600 / 90 micro-USD per answer.)
  HttpAnswer http;
  for (int i = 0; i < 3; ++i) {
    http = Ask((*gateway)->http_base(), kAcmeKey,
               R"({"model":"deepseek-chat","max_tokens":20,"messages":[{"role":"user","content":"Tell me about sluice gates"}]})");
    if (http.status != 200) break;
    ++served;
  }
  EXPECT_EQ(http.status, 429);
  EXPECT_THAT(http.body, HasSubstr("insufficient_quota"));
  EXPECT_LE(served, 6);
  // Another tenant is not affected.
  EXPECT_EQ(Ask((*gateway)->http_base(), kDemoKey).status, 200);
}

TEST_F(KeysTest, ConcurrentStreamsPerTenantAreCapped) {
  GatewayOptions options;
  options.acme_limits = "{max_concurrent_streams: 1}";
  // Well under the providers' 1 s stall limit, long enough to be overlapped
  // (the second request goes out as soon as the simulator has the first).
  options.sim_ttft = absl::Milliseconds(400);
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const std::string base = (*gateway)->http_base();
  const std::string stream =
      R"({"model":"deepseek-chat","stream":true,"messages":[{"role":"user","content":"What is a sluice gate?"}]})";
  HttpAnswer first;
  std::thread holder([&] { first = Ask(base, kAcmeKey, stream); });
  // The first stream holds its slot from admission until it ends: once the
  // simulator has it (it then waits 0.4 s before its first token), a second
  // stream of the tenant is refused.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((*gateway)->UpstreamRequests() < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ((*gateway)->UpstreamRequests(), 1);
  HttpAnswer second = Ask(base, kAcmeKey, stream);
  holder.join();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 429) << second.body;
  EXPECT_THAT(second.body, HasSubstr("concurrent streams"));
  // Slots come back when streams end, and other tenants have their own.
  EXPECT_EQ(Ask(base, kAcmeKey, stream).status, 200);
  EXPECT_EQ(Ask(base, kDemoKey, stream).status, 200);
}

TEST_F(KeysTest, AFailedStreamGivesItsSlotBackBeforeItsErrorIsWritten) {
  GatewayOptions options;
  options.acme_limits = "{max_concurrent_streams: 1}";
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const std::string base = (*gateway)->http_base();
  auto stream = [](const std::string& prompt) {
    return absl::StrCat(
        R"({"model":"deepseek-chat","stream":true,"messages":[{"role":"user","content":")",
        prompt, R"("}]})");
  };
  // A stream that fails before its first chunk (the provider refuses our
  // key: a plain 502) and one cut after its first token (an error event),
  // each followed at once by the tenant's next stream: its slot must be
  // back by the time the client has read the failure. Two rounds, as the
  // window was narrow: four failures stay under the circuit breaker's five.
  for (int round = 0; round < 2; ++round) {
    HttpAnswer refused = Ask(base, kAcmeKey, stream("x-sim-fault=echo-key"));
    EXPECT_EQ(refused.status, 502) << refused.body;
    HttpAnswer after_refused = Ask(base, kAcmeKey, stream("What is a weir?"));
    EXPECT_EQ(after_refused.status, 200) << after_refused.body;
    HttpAnswer cut =
        Ask(base, kAcmeKey, stream("x-sim-fault=cut x-sim-fault-after=1"));
    EXPECT_EQ(cut.status, 200) << cut.body;
    EXPECT_THAT(cut.body, HasSubstr("\"error\""));
    HttpAnswer after_cut = Ask(base, kAcmeKey, stream("What is a lock?"));
    EXPECT_EQ(after_cut.status, 200) << after_cut.body;
  }
}

}  // namespace
}  // namespace sluice::testing
