// RateGate on a real redis-server that stops answering (SIGSTOP: its data
// kept, commands queued): budgets fall back to this replica's own limiter
// instead of going unchecked, and a settle Redis did not take lands once it
// answers again (the reservation is not left charged at its estimate).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/obs/metrics.h"
#include "libs/redis/redis_client.h"
#include "libs/status/errors.h"
#include "services/ingress/rate_gate.h"
#include "services/ingress/request_record.h"
#include "tests/libs/redis/redis_server.h"
#include "tests/libs/redis/redis_test_util.h"
#include "tests/services/ingress/collecting_reporter.h"

namespace sluice::ingress {
namespace {

using redis::testing::RedisServer;
using redis::testing::WaitUntil;

constexpr int64_t kBudget = 1000;  // micro-USD of tenant "capped"

// Model "m" at $1 per million tokens in and out: a token is a micro-dollar.
sluice::v1::Config Config(const std::string& redis) {
  sluice::v1::Config config;
  sluice::v1::ModelSpec* spec = config.add_models();
  spec->set_provider("sim");
  spec->set_model("m");
  spec->set_input_usd_per_mtok(1);
  spec->set_output_usd_per_mtok(1);
  sluice::v1::RouteConfig* route = config.add_routes();
  route->set_model("m");
  route->set_provider("sim");
  sluice::v1::TenantConfig* tenant = config.add_tenants();
  tenant->set_name("capped");
  tenant->mutable_limits()->set_budget_usd(kBudget / 1e6);
  config.mutable_admission()->set_redis(redis);
  config.mutable_admission()->mutable_redis_timeout()->set_nanos(100'000'000);
  return config;
}

// A request reserving about 10 + `max_tokens` micro-USD.
sluice::v1::ChatRequest Request(int max_tokens) {
  sluice::v1::ChatRequest request;
  request.set_model("m");
  sluice::v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_text("hi");
  request.set_max_tokens(max_tokens);
  return request;
}

Caller Capped() {
  Caller caller;
  caller.tenant = "capped";
  caller.key_id = "0123456789ab";
  return caller;
}

class RateGateOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisServer::BinaryPath().empty()) GTEST_FAIL() << "no redis-server";
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    config_ = Config(server_->address());
    auto gate = RateGate::Create(config_);
    ASSERT_TRUE(gate.ok()) << gate.status();
    gate_ = *std::move(gate);
    redis::RedisOptions options;
    options.address = server_->address();
    options.command_timeout = absl::Seconds(5);
    auto client = redis::RedisClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    ASSERT_TRUE(WaitUntil([&] { return client_->connected(); }));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Resume();
    records_.clear();
    gate_.reset();
  }

  RequestRecordPtr NewRecord() {
    records_.push_back(std::make_shared<RequestRecord>(
        &reporter_, absl::StrCat("req-", records_.size()), false));
    return records_.back();
  }

  absl::Status Admit(const RequestRecordPtr& record,
                     const sluice::v1::ChatRequest& request) {
    absl::Notification done;
    absl::Status result;
    gate_->Admit(record, Capped(), request, [&](absl::Status status) {
      result = std::move(status);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return result;
  }

  // The tenant's shared ledger in Redis, micro-USD (-1 when unreadable).
  int64_t Ledger() {
    auto spent =
        redis::CommandSync(*client_, {"GET", "sluice:rl:tenant:capped:budget"});
    int64_t value = -1;
    if (spent.ok()) (void)absl::SimpleAtoi(spent->str, &value);
    return value;
  }

  std::unique_ptr<RedisServer> server_;
  sluice::v1::Config config_;
  CollectingReporter reporter_;
  std::unique_ptr<RateGate> gate_;
  std::unique_ptr<redis::RedisClient> client_;
  std::vector<RequestRecordPtr> records_;
};

// Failing open used to mean no budget at all while Redis was away.
TEST_F(RateGateOutageTest, ABudgetHoldsOnThisReplicaWhileRedisIsAway) {
  server_->Pause();
  int admitted = 0;
  absl::Status refused;
  for (int i = 0; i < 20 && refused.ok(); ++i) {
    RequestRecordPtr record = NewRecord();
    absl::Status status = Admit(record, Request(290));  // about 300 each
    if (status.ok()) {
      ++admitted;
    } else {
      refused = status;
    }
  }
  // Each reserves 290 + its prompt (a few tokens): two or three fit in
  // 1000, never four.
  EXPECT_GE(admitted, 2);
  EXPECT_LE(admitted, 3);
  EXPECT_EQ(status::ErrorFromStatus(refused).code(), "insufficient_quota")
      << refused;
}

// A settle Redis did not answer is tried again until it lands, so the
// tenant is charged what the request cost, not what it might have.
TEST_F(RateGateOutageTest, ASettleRedisMissedLandsWhenItAnswersAgain) {
  RequestRecordPtr record = NewRecord();
  ASSERT_TRUE(Admit(record, Request(900)).ok());
  const int64_t estimate = Ledger();
  ASSERT_GT(estimate, 900);
  server_->Pause();
  record->event().mutable_decision()->set_price_micro_usd(42);
  record->Finish(200);  // settles to 42; Redis does not answer in time
  // More than one try has failed before Redis is back.
  obs::Counter& retries = obs::MetricsRegistry::Default().counter(
      "sluice_ratelimit_settle_retries_total",
      "Settles of a request's reservation tried again after Redis failed "
      "them.");
  const double before = retries.value();
  ASSERT_TRUE(WaitUntil([&] { return retries.value() >= before + 1; }));
  server_->Resume();
  EXPECT_TRUE(WaitUntil([&] { return Ledger() == 42; }, absl::Seconds(20)))
      << "the ledger stays at " << Ledger() << " (estimate " << estimate << ")";
}

}  // namespace
}  // namespace sluice::ingress
