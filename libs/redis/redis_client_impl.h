// The RedisClient that RedisClient::Create builds: one hiredis async
// connection, driven by AsioEventAdapter on an io_context thread the client
// owns. All state below the public methods lives on that thread.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "libs/redis/redis_client.h"
#include "libs/redis/redis_metrics.h"
#include "libs/redis/script_cache.h"

struct redisAsyncContext;
struct redisReply;

namespace sluice::redis {

class AsioRedisClient final : public RedisClient {
 public:
  // Starts the thread and the first connection attempt.
  AsioRedisClient(RedisOptions options, std::string host, int port);
  ~AsioRedisClient() override;

  // RedisClient
  void Command(std::vector<std::string> args, ReplyCallback done) override;
  void Eval(const std::string& script, std::vector<std::string> keys,
            std::vector<std::string> args, ReplyCallback done) override;
  bool connected() const override {
    return connected_.load(std::memory_order_relaxed);
  }

 private:
  using Clock = std::chrono::steady_clock;
  enum class State { kDown, kConnecting, kConnected };

  // A command sent and not yet answered. Replies come in order, so the
  // oldest is always at the front. All commands share one timeout, so
  // deadlines grow from front to back and those that have expired (answered
  // DEADLINE_EXCEEDED, their replies still owed) are a prefix of the queue.
  struct InFlight {
    ReplyCallback done;  // empty once expired
    Clock::time_point sent;
    Clock::time_point deadline;
  };

  void Send(std::vector<std::string> args, ReplyCallback done);
  void OnReply(redisReply* reply);
  void ArmDeadline();
  void ExpireOverdue();

  void Connect();
  void ConnectTo(const std::string& ip);
  void OnConnected(int status);
  void OnConnectTimeout(uint64_t attempt);
  // hiredis let go of the context (connection lost, attempt failed, freed).
  void OnContextGone(redisAsyncContext* context);
  void OnAttemptFailed();
  void ScheduleReconnect();
  void Shutdown();

  static void ConnectThunk(const redisAsyncContext* context, int status);
  static void ReplyThunk(redisAsyncContext* context, void* reply,
                         void* privdata);

  const RedisOptions options_;
  const std::string host_;
  const int port_;
  const Clock::duration command_timeout_;
  RedisMetrics& metrics_;
  ScriptCache scripts_;
  std::atomic<bool> connected_{false};

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer deadline_timer_;

  // Owned by the io_context thread.
  State state_ = State::kDown;
  redisAsyncContext* context_ = nullptr;
  uint64_t attempt_ = 0;
  absl::Duration backoff_;
  std::string last_error_;
  bool down_logged_ = false;  // a disconnect was logged, no reconnect yet
  bool shutting_down_ = false;
  std::deque<InFlight> in_flight_;
  size_t expired_ = 0;  // length of the expired prefix of in_flight_
  bool deadline_armed_ = false;

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace sluice::redis
