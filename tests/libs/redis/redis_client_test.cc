// RedisClient against a real redis-server: replies of every type, binary
// values, pipelining from several threads, Lua scripts, command timeouts.
#include "libs/redis/redis_client.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "libs/redis/redis_metrics.h"
#include "libs/redis/script_cache.h"
#include "tests/libs/redis/redis_test_util.h"

namespace sluice::redis::testing {
namespace {

using Type = RedisReply::Type;

TEST(RedisClientCreateTest, RejectsBadOptions) {
  for (const char* address : {"", "localhost", "localhost:", ":6379",
                              "localhost:0", "localhost:70000", "host:abc"}) {
    RedisOptions options;
    options.address = address;
    EXPECT_EQ(RedisClient::Create(options).status().code(),
              absl::StatusCode::kInvalidArgument)
        << address;
  }
  RedisOptions options;
  options.address = "127.0.0.1:6379";
  options.command_timeout = absl::ZeroDuration();
  EXPECT_EQ(RedisClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Sha1HexTest, MatchesKnownDigests) {
  EXPECT_EQ(Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Sha1Hex("return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

TEST_F(RedisClientTest, BinaryValuesRoundTrip) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const std::string key("bin\0key", 7);
  const std::string value("a\0b\r\n\0c", 7);
  auto set = CommandSync(*client, {"SET", key, value});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, Type::kStatus);
  EXPECT_EQ(set->str, "OK");

  auto get = CommandSync(*client, {"GET", key});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->type, Type::kString);
  EXPECT_EQ(get->str, value);

  auto expire = CommandSync(*client, {"EXPIRE", key, "100"});
  ASSERT_TRUE(expire.ok()) << expire.status();
  EXPECT_EQ(expire->type, Type::kInteger);
  EXPECT_EQ(expire->integer, 1);
  auto ttl = CommandSync(*client, {"TTL", key});
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_GT(ttl->integer, 90);
  EXPECT_LE(ttl->integer, 100);

  auto del = CommandSync(*client, {"DEL", key});
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(del->integer, 1);
  auto gone = CommandSync(*client, {"GET", key});
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(gone->type, Type::kNil);
}

TEST_F(RedisClientTest, OneMebibyteValue) {
  auto client = Connect(absl::Seconds(2));
  ASSERT_NE(client, nullptr);
  std::string value(1 << 20, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(CommandSync(*client, {"SET", "big", value, "EX", "60"}).ok());
  auto get = CommandSync(*client, {"GET", "big"});
  ASSERT_TRUE(get.ok()) << get.status();
  ASSERT_EQ(get->type, Type::kString);
  EXPECT_EQ(get->str.size(), value.size());
  EXPECT_TRUE(get->str == value);
}

TEST_F(RedisClientTest, NilArrayAndErrorReplies) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto missing = CommandSync(*client, {"GET", "no-such-key"});
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->type, Type::kNil);
  EXPECT_TRUE(missing->is_nil());

  // Set-based invalidation: members of a tag set.
  ASSERT_TRUE(CommandSync(*client, {"SADD", "tag", "a", "b"}).ok());
  auto members = CommandSync(*client, {"SMEMBERS", "tag"});
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_EQ(members->type, Type::kArray);
  std::vector<std::string> names;
  for (const RedisReply& element : members->elements) {
    EXPECT_EQ(element.type, Type::kString);
    names.push_back(element.str);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));

  // An error reply is a reply, not a failed status.
  double errors_before = RedisMetrics::Get().error_replies.value();
  ASSERT_TRUE(CommandSync(*client, {"SET", "text", "abc"}).ok());
  auto error = CommandSync(*client, {"INCR", "text"});
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_EQ(error->type, Type::kError);
  EXPECT_TRUE(absl::StartsWith(error->str, "ERR")) << error->str;
  EXPECT_EQ(RedisMetrics::Get().error_replies.value(), errors_before + 1);

  auto unknown = CommandSync(*client, {"NOSUCHCOMMAND"});
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_TRUE(unknown->is_error());
}

TEST_F(RedisClientTest, RefusesEmptyAndPushCommands) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(CommandSync(*client, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CommandSync(*client, {"subscribe", "x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CommandSync(*client, {"PING"}).ok());
}

// 10k commands from 4 threads: each answered exactly once, and each
// thread's answers in the order it sent them (INCR of its own counter
// returns 1, 2, 3, ...).
TEST_F(RedisClientTest, PipelinesFromManyThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  auto client = Connect(absl::Seconds(5));
  ASSERT_NE(client, nullptr);
  ReplyLog log;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        client->Command({"INCR", absl::StrCat("counter:", t)},
                        log.Record(t * kPerThread + i));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(log.WaitForCount(kThreads * kPerThread, absl::Seconds(30)));

  std::vector<int64_t> last(kThreads, 0);
  std::vector<int> calls(kThreads * kPerThread, 0);
  for (const ReplyLog::Entry& entry : log.entries()) {
    ASSERT_TRUE(entry.reply.ok()) << entry.reply.status();
    ASSERT_EQ(entry.reply->type, Type::kInteger);
    int thread = entry.id / kPerThread;
    int index = entry.id % kPerThread;
    ++calls[entry.id];
    // The reply to the i-th INCR is i+1, and replies come in send order.
    EXPECT_EQ(entry.reply->integer, index + 1);
    EXPECT_EQ(entry.reply->integer, last[thread] + 1);
    last[thread] = entry.reply->integer;
  }
  for (int count : calls) ASSERT_EQ(count, 1);
  for (int64_t value : last) EXPECT_EQ(value, kPerThread);
}

// The numbers of calls of `command` in INFO commandstats.
int64_t CommandCalls(RedisClient& client, const std::string& command) {
  auto info = CommandSync(client, {"INFO", "commandstats"});
  if (!info.ok()) return -1;
  std::string prefix = absl::StrCat("cmdstat_", command, ":calls=");
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    if (!absl::ConsumePrefix(&line, prefix)) continue;
    int64_t calls = 0;
    if (absl::SimpleAtoi(line.substr(0, line.find(',')), &calls)) return calls;
  }
  return 0;
}

absl::StatusOr<RedisReply> EvalSync(RedisClient& client,
                                    const std::string& script,
                                    std::vector<std::string> keys,
                                    std::vector<std::string> args) {
  ReplyLog log;
  client.Eval(script, std::move(keys), std::move(args), log.Record(0));
  if (!log.WaitForCount(1)) return absl::DeadlineExceededError("no reply");
  return log.entries()[0].reply;
}

TEST_F(RedisClientTest, EvalFallsBackToEvalOnNoScript) {
  auto client = Connect(absl::Seconds(2));
  ASSERT_NE(client, nullptr);
  const std::string script = "return KEYS[1] .. ':' .. ARGV[1]";
  auto first = EvalSync(*client, script, {"k"}, {"1"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->str, "k:1");
  // Known loaded now: EVALSHA.
  auto second = EvalSync(*client, script, {"k"}, {"2"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->str, "k:2");
  EXPECT_EQ(CommandCalls(*client, "eval"), 1);
  EXPECT_EQ(CommandCalls(*client, "evalsha"), 1);

  ASSERT_TRUE(CommandSync(*client, {"SCRIPT", "FLUSH"}).ok());
  auto third = EvalSync(*client, script, {"k"}, {"3"});
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->type, Type::kString);
  EXPECT_EQ(third->str, "k:3");
  // EVALSHA met NOSCRIPT and EVAL loaded the script again.
  EXPECT_EQ(CommandCalls(*client, "evalsha"), 2);
  EXPECT_EQ(CommandCalls(*client, "eval"), 2);
  auto loaded = CommandSync(*client, {"SCRIPT", "EXISTS", Sha1Hex(script)});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->elements.size(), 1u);
  EXPECT_EQ(loaded->elements[0].integer, 1);

  // A script that fails is an error reply.
  ASSERT_TRUE(CommandSync(*client, {"SET", "not-a-number", "x"}).ok());
  auto failing = EvalSync(*client, "return redis.call('INCR', KEYS[1])",
                          {"not-a-number"}, {});
  ASSERT_TRUE(failing.ok()) << failing.status();
  EXPECT_TRUE(failing->is_error());
}

// A command stuck behind a slow one fails after command_timeout; its late
// reply is dropped and the replies after it stay matched to their commands.
TEST_F(RedisClientTest, CommandTimesOutAndClientRecovers) {
  auto client = Connect(absl::Milliseconds(50));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(CommandSync(*client, {"SET", "k", "v"}).ok());
  double timeouts_before = RedisMetrics::Get().timeout_errors.value();

  ReplyLog log;
  client->Command({"DEBUG", "SLEEP", "0.3"}, log.Record(0));
  absl::Time sent = absl::Now();
  client->Command({"GET", "k"}, log.Record(1));
  ASSERT_TRUE(log.WaitForCount(2, absl::Seconds(2)));
  auto entries = log.entries();
  for (const ReplyLog::Entry& entry : entries) {
    EXPECT_EQ(entry.reply.status().code(), absl::StatusCode::kDeadlineExceeded);
  }
  absl::Duration waited = entries[1].at - sent;
  EXPECT_GE(waited, absl::Milliseconds(45));
  EXPECT_LT(waited, absl::Milliseconds(250)) << "not cut at command_timeout";
  EXPECT_EQ(RedisMetrics::Get().timeout_errors.value(), timeouts_before + 2);

  // Once Redis wakes up the same connection serves again, and GET k is
  // answered with "v", not with a late reply meant for an earlier command.
  absl::StatusOr<RedisReply> get;
  ASSERT_TRUE(WaitUntil(
      [&] {
        get = CommandSync(*client, {"GET", "k"});
        return get.ok();
      },
      absl::Seconds(5)));
  EXPECT_EQ(get->type, Type::kString);
  EXPECT_EQ(get->str, "v");
  EXPECT_TRUE(client->connected());
  EXPECT_EQ(log.entries().size(), 2u) << "a callback ran twice";
}

}  // namespace
}  // namespace sluice::redis::testing
