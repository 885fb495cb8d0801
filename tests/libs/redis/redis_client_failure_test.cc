// RedisClient when Redis goes away: commands fail fast while it is down,
// the client reconnects by itself when it is back, and destroying the
// client answers every pending command exactly once.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/redis/redis_client.h"
#include "libs/redis/redis_metrics.h"
#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/spdlog.h"
#include "tests/libs/redis/redis_test_util.h"

namespace sluice::redis::testing {
namespace {

// While Redis is down every command fails with UNAVAILABLE at once: well
// within `command_timeout` (what a queued command would wait), a bound that
// holds on a loaded machine too.
void ExpectFailsFast(RedisClient& client, absl::Duration command_timeout) {
  for (int i = 0; i < 20; ++i) {
    ReplyLog log;
    absl::Time sent = absl::Now();
    client.Command({"GET", "k"}, log.Record(i));
    ASSERT_TRUE(log.WaitForCount(1, absl::Seconds(1)));
    auto entry = log.entries()[0];
    EXPECT_EQ(entry.reply.status().code(), absl::StatusCode::kUnavailable)
        << entry.reply.status();
    EXPECT_LT(entry.at - sent, command_timeout / 2);
  }
}

TEST_F(RedisClientTest, FailsFastWhileDownAndReconnectsAfterRestart) {
  auto client = Connect(absl::Milliseconds(500));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(CommandSync(*client, {"SET", "k", "before"}).ok());
  double unavailable_before = RedisMetrics::Get().unavailable_errors.value();

  server_->Stop();
  ASSERT_TRUE(WaitUntil([&] { return !client->connected(); }))
      << "the client did not notice Redis going away";
  ExpectFailsFast(*client, absl::Milliseconds(500));
  EXPECT_GE(RedisMetrics::Get().unavailable_errors.value(),
            unavailable_before + 20);
  EXPECT_FALSE(client->connected());

  // Same port, empty data (no persistence): the client finds it again.
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return client->connected(); }))
      << "the client did not reconnect";
  auto set = CommandSync(*client, {"SET", "k", "after"});
  ASSERT_TRUE(set.ok()) << set.status();
  auto get = CommandSync(*client, {"GET", "k"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, "after");
}

// Logs one line per transition (down, back up), however many reconnect
// attempts fail in between; the connected gauge follows.
TEST_F(RedisClientTest, LogsOncePerTransition) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  spdlog::default_logger()->sinks().push_back(sink);
  RedisOptions options;
  options.address = server_->address();
  options.reconnect_backoff = absl::Milliseconds(5);
  options.max_reconnect_backoff = absl::Milliseconds(10);
  auto client = RedisClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(WaitUntil([&] { return (*client)->connected(); }));
  obs::Gauge& connected = RedisMetrics::Get().connected;
  double connected_before = connected.value();

  server_->Stop();
  ASSERT_TRUE(WaitUntil([&] { return !(*client)->connected(); }));
  EXPECT_EQ(connected.value(), connected_before - 1);
  // Redis stays down long enough for a few dozen failed attempts.
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return (*client)->connected(); }));
  EXPECT_EQ(connected.value(), connected_before);
  client->reset();
  spdlog::default_logger()->sinks().pop_back();

  auto count = [&](absl::string_view message) {
    int n = 0;
    for (const std::string& line : sink->last_formatted()) {
      if (absl::StrContains(line, message)) ++n;
    }
    return n;
  };
  EXPECT_EQ(count("redis connected"), 1);
  EXPECT_EQ(count("redis disconnected"), 1);
  EXPECT_EQ(count("redis unreachable"), 0);
  EXPECT_EQ(count("redis reconnected"), 1);
}

// Commands in flight when the connection drops are answered UNAVAILABLE.
TEST_F(RedisClientTest, InFlightCommandsFailWhenConnectionDrops) {
  auto admin = Connect(absl::Seconds(5));
  auto client = Connect(absl::Seconds(5));
  ASSERT_NE(admin, nullptr);
  ASSERT_NE(client, nullptr);
  // Redis holds every command from now on, so none of these is answered.
  auto pause = CommandSync(*admin, {"CLIENT", "PAUSE", "10000", "ALL"});
  ASSERT_TRUE(pause.ok()) << pause.status();
  ReplyLog log;
  constexpr int kCommands = 50;
  for (int i = 0; i < kCommands; ++i) {
    client->Command({"GET", "k"}, log.Record(i));
  }
  double unavailable_before = RedisMetrics::Get().unavailable_errors.value();
  server_->Stop();
  ASSERT_TRUE(log.WaitForCount(kCommands, absl::Seconds(5)));
  std::vector<int> calls(kCommands, 0);
  for (const ReplyLog::Entry& entry : log.entries()) {
    ++calls[entry.id];
    EXPECT_EQ(entry.reply.status().code(), absl::StatusCode::kUnavailable)
        << entry.reply.status();
  }
  for (int count : calls) EXPECT_EQ(count, 1);
  EXPECT_GE(RedisMetrics::Get().unavailable_errors.value(),
            unavailable_before + kCommands);
}

// Created while Redis is down: Create returns at once, commands fail, and
// the client connects when Redis comes up.
TEST_F(RedisClientTest, ConnectsWhenRedisComesUpLater) {
  int port = server_->port();
  server_->Stop();
  RedisOptions options;
  options.address = absl::StrCat("127.0.0.1:", port);
  options.reconnect_backoff = absl::Milliseconds(20);
  options.max_reconnect_backoff = absl::Milliseconds(200);
  // Long timeouts, so that "at once" stands apart from waiting on them.
  options.connect_timeout = absl::Seconds(2);
  options.command_timeout = absl::Seconds(2);
  absl::Time start = absl::Now();
  auto client = RedisClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_LT(absl::Now() - start, options.connect_timeout / 2);
  EXPECT_FALSE((*client)->connected());
  ExpectFailsFast(**client, options.command_timeout);

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return (*client)->connected(); }));
  auto pong = CommandSync(**client, {"PING"});
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->str, "PONG");
}

// Destroying the client with commands queued, sent and unanswered: every
// callback runs exactly once, before the destructor returns.
TEST_F(RedisClientTest, DestructionAnswersEveryPendingCommandOnce) {
  constexpr int kCommands = 1000;
  ReplyLog log;
  {
    auto client = Connect(absl::Seconds(5));
    ASSERT_NE(client, nullptr);
    client->Command({"DEBUG", "SLEEP", "0.2"}, log.Record(0));
    for (int i = 1; i < kCommands; ++i) {
      client->Command({"SET", absl::StrCat("key", i), "v"}, log.Record(i));
    }
  }
  auto entries = log.entries();
  ASSERT_EQ(entries.size(), static_cast<size_t>(kCommands));
  std::vector<int> calls(kCommands, 0);
  int cancelled = 0;
  for (const ReplyLog::Entry& entry : entries) {
    ++calls[entry.id];
    if (!entry.reply.ok()) {
      EXPECT_EQ(entry.reply.status().code(), absl::StatusCode::kCancelled)
          << entry.reply.status();
      ++cancelled;
    }
  }
  for (int count : calls) EXPECT_EQ(count, 1);
  // Redis sleeps for 200 ms: nothing can have been answered.
  EXPECT_EQ(cancelled, kCommands);
}

// Destroying a client that never connected, or one mid-reconnect, is quick.
TEST_F(RedisClientTest, DestroysWhileReconnecting) {
  int port = server_->port();
  server_->Stop();
  RedisOptions options;
  options.address = absl::StrCat("127.0.0.1:", port);
  for (int i = 0; i < 20; ++i) {
    auto client = RedisClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    ReplyLog log;
    (*client)->Command({"PING"}, log.Record(0));
    client->reset();
    ASSERT_EQ(log.entries().size(), 1u);
  }
}

}  // namespace
}  // namespace sluice::redis::testing
