// SharedGate against a real redis-server: one ask for several calls grants
// the first ones that fit the provider's shared cap and buckets, batch
// calls leave interactive ones the last slot, and a release frees a slot.
#include "services/scheduler/shared_gate.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/libs/redis/redis_server.h"

namespace sluice::scheduler {
namespace {

class SharedGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = redis::testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    redis::RedisOptions options;
    options.address = server_->address();
    options.command_timeout = absl::Seconds(5);  // a busy test machine
    auto client = redis::RedisClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!client_->connected() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_TRUE(client_->connected());
  }

  // Asks and waits for the answer.
  static SharedGate::Answer Ask(SharedGate& gate, std::vector<int64_t> tokens, bool batch) {
    absl::Notification answered;
    absl::StatusOr<SharedGate::Answer> answer;
    gate.Acquire(tokens, batch, [&](absl::StatusOr<SharedGate::Answer> reply) {
      answer = std::move(reply);
      answered.Notify();
    });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_TRUE(answer.ok()) << answer.status();
    return answer.ok() ? *std::move(answer) : SharedGate::Answer{};
  }

  std::unique_ptr<redis::testing::RedisServer> server_;
  std::unique_ptr<redis::RedisClient> client_;
};

TEST_F(SharedGateTest, OneAskGrantsAsManyCallsAsTheCapHasRoomFor) {
  SharedGate gate(client_.get(), "p", {.max_concurrency = 3});
  SharedGate::Answer first = Ask(gate, {1, 1, 1, 1, 1}, /*batch=*/false);
  ASSERT_EQ(first.leases.size(), 3u);
  EXPECT_GT(first.retry_after, absl::ZeroDuration());  // ask again soon
  EXPECT_NE(first.leases[0], first.leases[1]);
  // Another replica's gate for the same provider finds it full.
  SharedGate other(client_.get(), "p", {.max_concurrency = 3});
  EXPECT_TRUE(Ask(other, {1, 1}, false).leases.empty());
  // A release frees one slot, and only one.
  gate.Release(first.leases[0], 1, 1);
  EXPECT_EQ(Ask(other, {1, 1}, false).leases.size(), 1u);
}

TEST_F(SharedGateTest, BatchCallsLeaveTheLastSlotToInteractiveOnes) {
  SharedGate gate(client_.get(), "p", {.max_concurrency = 4});
  SharedGate::Answer batch = Ask(gate, {1, 1, 1, 1, 1, 1}, /*batch=*/true);
  EXPECT_EQ(batch.leases.size(), 3u);
  EXPECT_TRUE(Ask(gate, {1}, /*batch=*/true).leases.empty());
  EXPECT_EQ(Ask(gate, {1, 1}, /*batch=*/false).leases.size(), 1u);
  // A batch call that ends lets one batch call in; then the cap is full
  // (three batch calls and an interactive one).
  gate.Release(batch.leases[0], 1, 1);
  EXPECT_EQ(Ask(gate, {1, 1}, /*batch=*/true).leases.size(), 1u);
  EXPECT_TRUE(Ask(gate, {1}, /*batch=*/false).leases.empty());
}

TEST_F(SharedGateTest, BucketsGrantTheCallsThatFitInOrder) {
  SharedGate requests(client_.get(), "r", {.rpm = 3});
  SharedGate::Answer by_rpm = Ask(requests, {1, 1, 1, 1, 1}, false);
  EXPECT_EQ(by_rpm.leases.size(), 3u);
  // A request comes back every 20 s.
  EXPECT_GT(by_rpm.retry_after, absl::Seconds(10));
  EXPECT_LE(by_rpm.retry_after, absl::Seconds(20));

  SharedGate tokens(client_.get(), "t", {.tpm = 1000});
  // 400 + 400 fit in 1,000; the third (400 more) waits for the refill.
  SharedGate::Answer by_tpm = Ask(tokens, {400, 400, 400, 10}, false);
  EXPECT_EQ(by_tpm.leases.size(), 2u);
  EXPECT_GT(by_tpm.retry_after, absl::Seconds(5));
  // Settled to what the calls really used, the tokens come back.
  tokens.Release(by_tpm.leases[0], 400, 10);
  tokens.Release(by_tpm.leases[1], 400, 10);
  EXPECT_EQ(Ask(tokens, {400, 10}, false).leases.size(), 2u);
}

}  // namespace
}  // namespace sluice::scheduler
