// What the Redis client tests share: a fixture with a private redis-server
// and a connected client, a log of asynchronous replies, and a wait on a
// condition with a deadline.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/redis/redis_client.h"
#include "tests/libs/redis/redis_server.h"

namespace sluice::redis::testing {

// Polls `condition` until it holds or `timeout` passes.
inline bool WaitUntil(const std::function<bool()>& condition,
                      absl::Duration timeout = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// Every callback invocation, in the order they ran.
class ReplyLog {
 public:
  struct Entry {
    int id;
    absl::StatusOr<RedisReply> reply;
    absl::Time at;
  };

  ReplyCallback Record(int id) {
    return [this, id](absl::StatusOr<RedisReply> reply) {
      absl::MutexLock lock(&mu_);
      entries_.push_back({id, std::move(reply), absl::Now()});
    };
  }

  bool WaitForCount(size_t count, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return entries_.size() >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

  std::vector<Entry> entries() {
    absl::MutexLock lock(&mu_);
    return entries_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisServer::BinaryPath().empty()) {
      GTEST_FAIL() << "redis-server is not installed";
    }
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A client of the fixture's server, connected.
  std::unique_ptr<RedisClient> Connect(
      absl::Duration command_timeout = absl::Milliseconds(50)) {
    RedisOptions options;
    options.address = server_->address();
    options.command_timeout = command_timeout;
    auto client = RedisClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    EXPECT_TRUE(WaitUntil([&] { return (*client)->connected(); }))
        << "no connection to " << options.address;
    return *std::move(client);
  }

  std::unique_ptr<RedisServer> server_;
};

}  // namespace sluice::redis::testing
