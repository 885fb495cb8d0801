// Producer against the in-process dev broker: deliveries, topic
// auto-creation, back-pressure, failures reported, idempotent retries.
#include "libs/kafka/producer.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/kafka/dev_broker.h"
#include "tests/libs/kafka/kafka_test_util.h"

namespace sluice::kafka {
namespace {

using testing::DeliveryCounter;
using testing::FastProducer;
using testing::StoredMessages;

// Kafka protocol ApiKey of Produce requests.
constexpr int16_t kProduceApiKey = 0;

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<DevBroker>> broker = DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
  }

  std::unique_ptr<DevBroker> broker_;
};

TEST_F(ProducerTest, DeliversEveryMessageOnThePollThread) {
  ASSERT_TRUE(broker_->CreateTopic("events", 4).ok());
  auto producer = Producer::Create(FastProducer(broker_->bootstrap_servers()));
  ASSERT_TRUE(producer.ok()) << producer.status();
  DeliveryCounter deliveries;
  std::thread::id caller = std::this_thread::get_id();
  absl::Mutex mu;
  bool on_caller_thread = false;
  for (int i = 0; i < 200; ++i) {
    Producer::DeliveryCallback count = deliveries.Callback();
    (*producer)->Produce("events", absl::StrCat("key-", i),
                         absl::StrCat("value-", i), [&, count](absl::Status s) {
                           if (std::this_thread::get_id() == caller) {
                             absl::MutexLock lock(&mu);
                             on_caller_thread = true;
                           }
                           count(s);
                         });
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(deliveries.WaitFor(200, absl::Seconds(1)), 200);
  EXPECT_TRUE(deliveries.errors().empty());
  absl::MutexLock lock(&mu);
  EXPECT_FALSE(on_caller_thread);
  EXPECT_EQ(StoredMessages(broker_->bootstrap_servers(), "events", 4), 200);
}

TEST_F(ProducerTest, TopicIsCreatedOnFirstProduce) {
  auto producer = Producer::Create(FastProducer(broker_->bootstrap_servers()));
  ASSERT_TRUE(producer.ok()) << producer.status();
  DeliveryCounter deliveries;
  (*producer)->Produce("sluice.usage", "k", "v", deliveries.Callback());
  EXPECT_EQ(deliveries.WaitFor(1, absl::Seconds(10)), 1);
  EXPECT_TRUE(deliveries.errors().empty());
}

TEST_F(ProducerTest, FullLocalQueueAppliesBackPressure) {
  ASSERT_TRUE(broker_->CreateTopic("small", 1).ok());
  ProducerOptions options = FastProducer(broker_->bootstrap_servers());
  options.extra.push_back({"queue.buffering.max.messages", "10"});
  auto producer = Producer::Create(options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  DeliveryCounter deliveries;
  for (int i = 0; i < 300; ++i) {
    (*producer)->Produce("small", "k", absl::StrCat(i), deliveries.Callback());
  }
  EXPECT_EQ(deliveries.WaitFor(300, absl::Seconds(20)), 300);
  EXPECT_TRUE(deliveries.errors().empty());
  EXPECT_EQ(StoredMessages(broker_->bootstrap_servers(), "small", 1), 300);
}

TEST_F(ProducerTest, UnreachableBrokerIsReportedNotDropped) {
  ProducerOptions options = FastProducer("127.0.0.1:1");
  options.extra.push_back({"message.timeout.ms", "300"});
  auto producer = Producer::Create(options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  DeliveryCounter deliveries;
  (*producer)->Produce("nowhere", "k", "v", deliveries.Callback());
  EXPECT_EQ(deliveries.WaitFor(1, absl::Seconds(10)), 0);
  ASSERT_EQ(deliveries.errors().size(), 1u);
  EXPECT_EQ(deliveries.errors()[0].code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ProducerTest, RetriableProduceErrorsStillDeliverExactlyOnce) {
  ASSERT_TRUE(broker_->CreateTopic("retried", 1).ok());
  auto producer = Producer::Create(FastProducer(broker_->bootstrap_servers()));
  ASSERT_TRUE(producer.ok()) << producer.status();
  // Warm up so the producer id is acquired before the faults.
  DeliveryCounter warmup;
  (*producer)->Produce("retried", "k", "warmup", warmup.Callback());
  ASSERT_EQ(warmup.WaitFor(1, absl::Seconds(10)), 1);

  rd_kafka_mock_push_request_errors(
      broker_->mock_cluster(), kProduceApiKey, 3,
      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
  DeliveryCounter deliveries;
  for (int i = 0; i < 50; ++i) {
    (*producer)->Produce("retried", "k", absl::StrCat(i),
                         deliveries.Callback());
  }
  EXPECT_EQ(deliveries.WaitFor(50, absl::Seconds(20)), 50);
  EXPECT_TRUE(deliveries.errors().empty());
  EXPECT_EQ(StoredMessages(broker_->bootstrap_servers(), "retried", 1), 51);
}

}  // namespace
}  // namespace sluice::kafka
