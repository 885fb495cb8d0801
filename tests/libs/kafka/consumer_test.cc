// Consumer groups against the in-process dev broker: consume everything,
// share partitions without duplicates, resume after committed offsets,
// retry a failed message, stop promptly.
#include "libs/kafka/consumer.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "absl/synchronization/notification.h"
#include "libs/kafka/dev_broker.h"
#include "libs/obs/metrics.h"
#include "tests/libs/kafka/kafka_test_util.h"

namespace sluice::kafka {
namespace {

using testing::Collector;
using testing::DeliveryCounter;
using testing::FastConsumer;
using testing::FastProducer;

class ConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<DevBroker>> broker = DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    auto producer = Producer::Create(FastProducer(brokers()));
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
  }

  std::string brokers() const { return broker_->bootstrap_servers(); }

  // Produces `n` messages key-<first+i> / value-<first+i> and waits for all
  // deliveries.
  void ProduceBatch(const std::string& topic, int first, int n) {
    DeliveryCounter deliveries;
    for (int i = first; i < first + n; ++i) {
      producer_->Produce(topic, absl::StrCat("key-", i),
                         absl::StrCat("value-", i), deliveries.Callback());
    }
    ASSERT_EQ(deliveries.WaitFor(n, absl::Seconds(10)), n);
  }

  std::unique_ptr<Consumer> StartConsumer(const std::string& group,
                                          const std::string& topic,
                                          Consumer::Handler handler) {
    auto consumer = Consumer::Create(FastConsumer(brokers(), group, {topic}));
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return nullptr;
    EXPECT_TRUE((*consumer)->Start(std::move(handler)).ok());
    return *std::move(consumer);
  }

  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(ConsumerTest, ConsumesEverythingProducedAndStopsPromptly) {
  ASSERT_TRUE(broker_->CreateTopic("events", 4).ok());
  ProduceBatch("events", 0, 200);
  Collector collector;
  auto consumer = StartConsumer("group-a", "events", collector.Handler());
  ASSERT_NE(consumer, nullptr);
  ASSERT_EQ(collector.WaitFor(200, absl::Seconds(20)), 200u);

  std::set<std::pair<std::string, std::string>> seen;
  for (const Message& m : collector.messages()) {
    EXPECT_EQ(m.topic, "events");
    EXPECT_EQ(m.value, absl::StrCat("value-", m.key.substr(4)));
    seen.insert({m.key, m.value});
  }
  EXPECT_EQ(seen.size(), 200u);

  absl::Time before = absl::Now();
  consumer->Stop();
  EXPECT_LT(absl::Now() - before, absl::Seconds(1));
}

// Delivery is at least once: while the group rebalances (the second member
// joining), commits fail and a moved partition is re-read from its last
// committed offset, so messages from before the group settled may arrive
// twice. Once both members hold partitions, each message arrives once.
TEST_F(ConsumerTest, TwoMembersSharePartitionsWithoutDuplicates) {
  ASSERT_TRUE(broker_->CreateTopic("shared", 4).ok());
  Collector first;
  Collector second;
  auto a = StartConsumer("group-b", "shared", first.Handler());
  auto b = StartConsumer("group-b", "shared", second.Handler());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // Keep producing until both members have received something: then the
  // group has settled with partitions on each.
  int produced = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(40);
  while ((first.WaitFor(1, absl::ZeroDuration()) == 0 ||
          second.WaitFor(1, absl::ZeroDuration()) == 0) &&
         absl::Now() < deadline) {
    ProduceBatch("shared", produced, 20);
    produced += 20;
    first.WaitFor(1, absl::Milliseconds(200));
  }
  ASSERT_GT(first.messages().size(), 0u);
  ASSERT_GT(second.messages().size(), 0u);
  const int settled = produced;
  ProduceBatch("shared", produced, 100);
  produced += 100;

  auto times_seen = [&] {
    absl::flat_hash_map<std::string, int> seen;
    for (const Message& m : first.messages()) ++seen[m.key];
    for (const Message& m : second.messages()) ++seen[m.key];
    return seen;
  };
  deadline = absl::Now() + absl::Seconds(30);
  while (times_seen().size() < static_cast<size_t>(produced) &&
         absl::Now() < deadline) {
    first.WaitFor(first.messages().size() + 1, absl::Milliseconds(100));
  }
  absl::flat_hash_map<std::string, int> seen = times_seen();
  // Nothing lost...
  EXPECT_EQ(seen.size(), static_cast<size_t>(produced));
  // ...and after the group settled, nothing twice.
  for (int i = settled; i < produced; ++i) {
    EXPECT_EQ(seen[absl::StrCat("key-", i)], 1) << "key-" << i;
  }
}

TEST_F(ConsumerTest, RestartedMemberDoesNotRereadCommittedMessages) {
  // One partition: a re-read old message would arrive before the new ones.
  ASSERT_TRUE(broker_->CreateTopic("resume", 1).ok());
  ProduceBatch("resume", 0, 20);
  {
    Collector before;
    auto consumer = StartConsumer("group-c", "resume", before.Handler());
    ASSERT_NE(consumer, nullptr);
    ASSERT_EQ(before.WaitFor(20, absl::Seconds(20)), 20u);
    consumer->Stop();
  }
  Collector after;
  auto consumer = StartConsumer("group-c", "resume", after.Handler());
  ASSERT_NE(consumer, nullptr);
  ProduceBatch("resume", 100, 5);
  ASSERT_EQ(after.WaitFor(5, absl::Seconds(20)), 5u);
  std::vector<Message> messages = after.messages();
  ASSERT_EQ(messages.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(messages[i].key, absl::StrCat("key-", 100 + i));
    EXPECT_EQ(messages[i].offset, 20 + i);
  }
}

TEST_F(ConsumerTest, FailedMessageIsRetriedBeforeTheNextOne) {
  ASSERT_TRUE(broker_->CreateTopic("flaky", 1).ok());
  ProduceBatch("flaky", 0, 3);
  absl::Mutex mu;
  std::vector<std::string> attempts;
  int failures_left = 2;
  Collector collector;
  Consumer::Handler accept = collector.Handler();
  auto consumer =
      StartConsumer("group-d", "flaky", [&](const Message& m) -> absl::Status {
        {
          absl::MutexLock lock(&mu);
          attempts.push_back(m.key);
          if (m.key == "key-1" && failures_left > 0) {
            --failures_left;
            return absl::UnavailableError("not now");
          }
        }
        return accept(m);
      });
  ASSERT_NE(consumer, nullptr);
  ASSERT_EQ(collector.WaitFor(3, absl::Seconds(20)), 3u);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(attempts, (std::vector<std::string>{"key-0", "key-1", "key-1",
                                                "key-1", "key-2"}));
}

}  // namespace
}  // namespace sluice::kafka

namespace sluice::kafka {
namespace {

TEST_F(ConsumerTest, BatchesHoldWhatWasFetchedInOrderAndRetryWhole) {
  ASSERT_TRUE(broker_->CreateTopic("batched", 1).ok());
  ProduceBatch("batched", 0, 300);
  auto consumer =
      Consumer::Create(testing::FastConsumer(brokers(), "group-b", {"batched"}));
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  absl::Mutex mu;
  std::vector<std::string> handled;
  size_t largest = 0;
  int failures_left = 1;
  ASSERT_TRUE((*consumer)
                  ->StartBatches(
                      [&](const std::vector<Message>& batch) {
                        absl::MutexLock lock(&mu);
                        if (failures_left > 0) {
                          --failures_left;  // the whole batch comes again
                          return absl::UnavailableError("not yet");
                        }
                        largest = std::max(largest, batch.size());
                        for (const Message& m : batch) handled.push_back(m.key);
                        return absl::OkStatus();
                      },
                      /*max_batch=*/64)
                  .ok());
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mu);
      if (handled.size() >= 300) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  (*consumer)->Stop();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(handled.size(), 300u);  // nothing lost, nothing twice
  for (int i = 0; i < 300; ++i) EXPECT_EQ(handled[i], absl::StrCat("key-", i));
  EXPECT_GT(largest, 1u);  // fetched messages come together...
  EXPECT_LE(largest, 64u);  // ...up to the limit
}

}  // namespace
}  // namespace sluice::kafka

namespace sluice::kafka {
namespace {

// Batches handled four at once: a batch stuck in its handler holds neither
// the batches after it nor the partition's flow, but nothing after it is
// committed: a restart resumes at the stuck batch and loses nothing.
TEST_F(ConsumerTest, PipelinedBatchesFlowPastAStuckOneAndCommitOnlyBeforeIt) {
  ASSERT_TRUE(broker_->CreateTopic("piped", 1).ok());
  ProduceBatch("piped", 0, 200);
  auto consumer =
      Consumer::Create(testing::FastConsumer(brokers(), "group-p", {"piped"}));
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  absl::Mutex mu;
  std::set<std::string> handled;
  size_t stuck_size = 0;
  absl::Notification give_up;
  ASSERT_TRUE((*consumer)
                  ->StartBatches(
                      [&](const std::vector<Message>& batch) {
                        for (const Message& m : batch) {
                          if (m.key == "key-100") {
                            {
                              absl::MutexLock lock(&mu);
                              stuck_size = batch.size();
                            }
                            give_up.WaitForNotification();
                            return absl::UnavailableError("given up");
                          }
                        }
                        absl::MutexLock lock(&mu);
                        for (const Message& m : batch) handled.insert(m.key);
                        return absl::OkStatus();
                      },
                      /*max_batch=*/10, /*in_flight=*/4)
                  .ok());
  // Every message but the stuck batch's is handled meanwhile.
  auto all_but_stuck = [&] {
    absl::MutexLock lock(&mu);
    return stuck_size > 0 && handled.size() + stuck_size == 200;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!all_but_stuck() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_TRUE(all_but_stuck()) << "the batches after the stuck one did not flow";
  give_up.Notify();
  (*consumer)->Stop();

  // The next consumer of the group starts at the stuck batch: everything
  // before it was committed, nothing after it.
  Collector again;
  auto next = StartConsumer("group-p", "piped", again.Handler());
  ASSERT_NE(next, nullptr);
  ASSERT_GE(again.WaitFor(1, absl::Seconds(20)), 1u);
  const int first = std::stoi(again.messages().front().key.substr(4));
  EXPECT_GT(first, 0) << "nothing before the stuck batch was committed";
  EXPECT_GT(first, 100 - 10) << "a batch before the stuck one came again";
  EXPECT_LE(first, 100) << "the stuck batch was committed";
  EXPECT_EQ(again.WaitFor(200 - first, absl::Seconds(20)), static_cast<size_t>(200 - first));
}

}  // namespace
}  // namespace sluice::kafka

namespace sluice::kafka {
namespace {

// The lag gauge moves while a handler is stuck (reported off the poll
// loop), and falls to zero once everything is handled.
TEST_F(ConsumerTest, LagShowsWhatAStuckHandlerHasNotConsumed) {
  ASSERT_TRUE(broker_->CreateTopic("lagging", 1).ok());
  ProduceBatch("lagging", 0, 10);
  absl::Notification release;
  Collector collector;
  Consumer::Handler accept = collector.Handler();
  auto consumer = StartConsumer(
      "group-lag", "lagging", [&](const Message& m) -> absl::Status {
        if (m.key == "key-1") release.WaitForNotification();
        return accept(m);
      });
  ASSERT_NE(consumer, nullptr);
  obs::Gauge& lag = obs::MetricsRegistry::Default().gauge(
      "sluice_kafka_consumer_lag", "",
      {{"group", "group-lag"}, {"topic", "lagging"}});
  auto wait_for_lag = [&](double expected) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (lag.value() != expected && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return lag.value();
  };
  // key-1 is being handled: eight messages are behind it.
  EXPECT_EQ(wait_for_lag(8), 8);
  release.Notify();
  ASSERT_EQ(collector.WaitFor(10, absl::Seconds(20)), 10u);
  EXPECT_EQ(wait_for_lag(0), 0);
}

}  // namespace
}  // namespace sluice::kafka
