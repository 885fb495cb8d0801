// The disk spool and the never-blocking topic writer on it: records survive
// a reopen in order, a torn tail keeps what precedes it, a full spool
// refuses and counts, replicas sharing a directory never share segments;
// with the dev broker down, messages go to the spool and reach the topic
// once it is back, after a restart of the writer too.
#include "libs/kafka/spool.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/kafka/dev_broker.h"
#include "libs/kafka/spooled_topic.h"
#include "tests/libs/kafka/kafka_test_util.h"

namespace sluice::kafka {
namespace {

using testing::Collector;
using testing::FastConsumer;
using testing::FastProducer;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sluice-spool-test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Spool::Options Options() const {
    Spool::Options options;
    options.dir = dir_;
    options.segment_bytes = 4096;  // many segments
    options.sync_interval = absl::Milliseconds(5);
    return options;
  }
  // Every record the spool holds, oldest first, removing each segment.
  static std::vector<std::pair<std::string, std::string>> DrainAll(
      Spool& spool) {
    std::vector<std::pair<std::string, std::string>> all;
    while (std::optional<Spool::Segment> segment = spool.TakeOldest()) {
      all.insert(all.end(), segment->records.begin(), segment->records.end());
      spool.Remove(*segment);
    }
    return all;
  }
  // The segment files of slot 0.
  std::vector<std::filesystem::path> Segments() const {
    std::vector<std::filesystem::path> files;
    for (const auto& entry :
         std::filesystem::directory_iterator(dir_ + "/slot-0")) {
      if (entry.path().extension() == ".spool") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  std::string dir_;
};

TEST_F(SpoolTest, RecordsSurviveAReopenInOrder) {
  {
    absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(Options());
    ASSERT_TRUE(spool.ok()) << spool.status();
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE((*spool)->Append(
          absl::StrCat("key-", i),
          absl::StrCat("value-", i, std::string(i % 50, 'x'))));
    }
    EXPECT_EQ((*spool)->records(), 1000);
  }
  EXPECT_GT(Segments().size(), 3u);
  absl::StatusOr<std::unique_ptr<Spool>> reopened = Spool::Open(Options());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->records(), 1000);
  // New records go after the old ones.
  ASSERT_TRUE((*reopened)->Append("key-1000", "value-1000"));
  std::vector<std::pair<std::string, std::string>> all = DrainAll(**reopened);
  ASSERT_EQ(all.size(), 1001u);
  for (int i = 0; i <= 1000; ++i) {
    EXPECT_EQ(all[i].first, absl::StrCat("key-", i));
    EXPECT_TRUE(absl::StartsWith(all[i].second, absl::StrCat("value-", i)));
  }
  EXPECT_EQ((*reopened)->records(), 0);
  EXPECT_EQ((*reopened)->bytes(), 0);
  EXPECT_TRUE(Segments().empty());
}

TEST_F(SpoolTest, ASegmentStaysUntilRemoved) {
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(Options());
  ASSERT_TRUE(spool.ok());
  ASSERT_TRUE((*spool)->Append("a", "1"));
  std::optional<Spool::Segment> first = (*spool)->TakeOldest();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE((*spool)->Append("b", "2"));  // into a new segment
  std::optional<Spool::Segment> again = (*spool)->TakeOldest();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->sequence, first->sequence);
  ASSERT_EQ(again->records.size(), 1u);
  (*spool)->Remove(*again);
  std::optional<Spool::Segment> next = (*spool)->TakeOldest();
  ASSERT_TRUE(next.has_value());
  ASSERT_EQ(next->records.size(), 1u);
  EXPECT_EQ(next->records[0].first, "b");
}

TEST_F(SpoolTest, ATornTailKeepsTheRecordsBeforeIt) {
  {
    absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(Options());
    ASSERT_TRUE(spool.ok());
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE((*spool)->Append(absl::StrCat("k", i), "v"));
    }
  }
  ASSERT_EQ(Segments().size(), 1u);
  std::filesystem::path segment = Segments()[0];
  // Ten records of one size ("kN" -> "v").
  const auto record_size =
      static_cast<std::streamoff>(std::filesystem::file_size(segment) / 10);
  // A crash mid-write: the last record is cut short...
  std::filesystem::resize_file(segment,
                               std::filesystem::file_size(segment) - 3);
  absl::StatusOr<std::unique_ptr<Spool>> reopened = Spool::Open(Options());
  ASSERT_TRUE(reopened.ok());
  std::optional<Spool::Segment> read = (*reopened)->TakeOldest();
  ASSERT_TRUE(read.has_value());
  ASSERT_EQ(read->records.size(), 9u);
  EXPECT_EQ(read->records[8].first, "k8");
  reopened->reset();
  // ... or a record's bytes are garbage (the ninth's value byte): the
  // checksum stops the read there.
  {
    std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(9 * record_size - 1);
    file.put('\x7f');
  }
  reopened = Spool::Open(Options());
  ASSERT_TRUE(reopened.ok());
  read = (*reopened)->TakeOldest();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->records.size(), 8u);
}

TEST_F(SpoolTest, AFullSpoolRefusesAndCounts) {
  Spool::Options options = Options();
  options.max_bytes = 1000;
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(options);
  ASSERT_TRUE(spool.ok());
  int accepted = 0;
  for (int i = 0; i < 100; ++i) {
    if ((*spool)->Append(absl::StrCat("k", i), std::string(40, 'v'))) {
      ++accepted;
    }
  }
  EXPECT_GT(accepted, 10);
  EXPECT_LT(accepted, 100);
  EXPECT_LE((*spool)->bytes(), 1000);
  EXPECT_EQ((*spool)->dropped(), 100 - accepted);
}

TEST_F(SpoolTest, ReplicasSharingADirectoryNeverShareSegments) {
  absl::StatusOr<std::unique_ptr<Spool>> one = Spool::Open(Options());
  absl::StatusOr<std::unique_ptr<Spool>> two = Spool::Open(Options());
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_TRUE((*one)->Append("from-one", "1"));
  ASSERT_TRUE((*two)->Append("from-two", "2"));
  std::vector<std::pair<std::string, std::string>> of_two = DrainAll(**two);
  ASSERT_EQ(of_two.size(), 1u);
  EXPECT_EQ(of_two[0].first, "from-two");
  // The first slot is free again once its holder is gone, with its records.
  one->reset();
  absl::StatusOr<std::unique_ptr<Spool>> three = Spool::Open(Options());
  ASSERT_TRUE(three.ok());
  std::vector<std::pair<std::string, std::string>> of_three = DrainAll(**three);
  ASSERT_EQ(of_three.size(), 1u);
  EXPECT_EQ(of_three[0].first, "from-one");
}

class SpooledTopicTest : public SpoolTest {
 protected:
  void SetUp() override {
    SpoolTest::SetUp();
    absl::StatusOr<std::unique_ptr<DevBroker>> broker = DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    ASSERT_TRUE(broker_->CreateTopic(kTopic, 2).ok());
  }

  std::unique_ptr<Producer> NewProducer(absl::Duration message_timeout) {
    ProducerOptions options = FastProducer(broker_->bootstrap_servers());
    options.extra.push_back({"reconnect.backoff.max.ms", "200"});
    options.topic_settings[kTopic] = {
        {"message.timeout.ms",
         std::to_string(absl::ToInt64Milliseconds(message_timeout))}};
    absl::StatusOr<std::unique_ptr<Producer>> producer =
        Producer::Create(options);
    EXPECT_TRUE(producer.ok()) << producer.status();
    return producer.ok() ? *std::move(producer) : nullptr;
  }
  void SetBrokerUp(bool up) {
    if (up) {
      rd_kafka_mock_broker_set_up(broker_->mock_cluster(), 1);
    } else {
      rd_kafka_mock_broker_set_down(broker_->mock_cluster(), 1);
    }
  }
  // The distinct keys the topic holds, once it holds `n` of them (or the
  // deadline passed).
  std::set<std::string> KeysInTopic(size_t n) {
    Collector collector;
    absl::StatusOr<std::unique_ptr<Consumer>> consumer = Consumer::Create(
        FastConsumer(broker_->bootstrap_servers(), "spool-test", {kTopic}));
    EXPECT_TRUE(consumer.ok());
    EXPECT_TRUE((*consumer)->Start(collector.Handler()).ok());
    std::set<std::string> keys;
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (keys.size() < n && absl::Now() < deadline) {
      collector.WaitFor(n, absl::Milliseconds(200));
      keys.clear();
      for (const Message& message : collector.messages()) {
        keys.insert(message.key);
      }
    }
    (*consumer)->Stop();
    return keys;
  }
  static bool WaitUntil(const std::function<bool()>& done,
                        absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }

  static constexpr char kTopic[] = "usage";
  std::unique_ptr<DevBroker> broker_;
};

TEST_F(SpooledTopicTest, WithTheBrokerUpNothingIsSpooled) {
  std::unique_ptr<Producer> producer = NewProducer(absl::Seconds(10));
  ASSERT_NE(producer, nullptr);
  absl::StatusOr<std::unique_ptr<SpooledTopic>> writer =
      SpooledTopic::Create(producer.get(), kTopic, Options());
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (int i = 0; i < 300; ++i) {
    (*writer)->Write(absl::StrCat("id-", i), "event");
  }
  EXPECT_EQ(KeysInTopic(300).size(), 300u);
  EXPECT_EQ((*writer)->stats().spooled, 0);
}

TEST_F(SpooledTopicTest, WhatTheBrokerMissedArrivesOnceItIsBack) {
  std::unique_ptr<Producer> producer = NewProducer(absl::Milliseconds(800));
  ASSERT_NE(producer, nullptr);
  absl::StatusOr<std::unique_ptr<SpooledTopic>> writer =
      SpooledTopic::Create(producer.get(), kTopic, Options());
  ASSERT_TRUE(writer.ok()) << writer.status();
  SetBrokerUp(false);
  for (int i = 0; i < 500; ++i) {
    (*writer)->Write(absl::StrCat("id-", i), std::string(200, 'e'));
  }
  // Past the message timeout every one of them waits on disk.
  ASSERT_TRUE(WaitUntil([&] { return (*writer)->stats().spooled >= 500; },
                        absl::Seconds(20)))
      << (*writer)->stats().spooled;
  EXPECT_GE((*writer)->stats().spool_records, 1);
  SetBrokerUp(true);
  ASSERT_TRUE(WaitUntil([&] { return (*writer)->stats().spool_records == 0; },
                        absl::Seconds(30)));
  std::set<std::string> keys = KeysInTopic(500);
  EXPECT_EQ(keys.size(), 500u);
  EXPECT_GE((*writer)->stats().delivered_from_spool, 500);
  EXPECT_EQ((*writer)->stats().dropped, 0);
}

TEST_F(SpooledTopicTest, AWriterStoppedDuringTheOutageDeliversAfterRestart) {
  SetBrokerUp(false);
  {
    // A long message timeout: at the stop the messages are still in the
    // producer's memory, and its shutdown spools them.
    std::unique_ptr<Producer> producer = NewProducer(absl::Seconds(60));
    ASSERT_NE(producer, nullptr);
    absl::StatusOr<std::unique_ptr<SpooledTopic>> writer =
        SpooledTopic::Create(producer.get(), kTopic, Options());
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (int i = 0; i < 120; ++i) {
      (*writer)->Write(absl::StrCat("id-", i), "event");
    }
    writer->reset();
    producer.reset();
  }
  SetBrokerUp(true);
  std::unique_ptr<Producer> producer = NewProducer(absl::Seconds(10));
  ASSERT_NE(producer, nullptr);
  absl::StatusOr<std::unique_ptr<SpooledTopic>> writer =
      SpooledTopic::Create(producer.get(), kTopic, Options());
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ(KeysInTopic(120).size(), 120u);
  ASSERT_TRUE(WaitUntil([&] { return (*writer)->stats().spool_records == 0; },
                        absl::Seconds(30)));
}

}  // namespace
}  // namespace sluice::kafka
