// Cache invalidations shared by every cache replica through Redis. Each is
// appended to a numbered log (a counter, and one key per entry that lives
// ten minutes); every replica asks for the entries past the last it saw
// every `poll` (one script, one round trip) and forgets those scopes in its
// own L1 — all of it when it fell so far behind that entries expired, or
// when more than kMaxEntriesPerPoll came at once. Polling, not pub/sub: a
// subscriber needs a connection of its own and loses what is published
// while it is away; a poll missed is caught up by the next.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/redis/redis_client.h"

namespace sluice::cache {

class InvalidationLog {
 public:
  // Called from the log's thread with each scope invalidated elsewhere (or
  // here): empty tenant or model means every one.
  using Forget =
      std::function<void(const std::string& tenant, const std::string& model)>;

  static constexpr int kMaxEntriesPerPoll = 1000;

  // `redis` must outlive this (destroy this first).
  InvalidationLog(redis::RedisClient* redis, Forget forget,
                  absl::Duration poll = absl::Milliseconds(250));
  ~InvalidationLog();

  // Whether a poll has answered: from then on every invalidation reaches
  // this replica (before, its L1 is cleared whole at the first answer).
  bool following() const { return following_.load(); }

  // Appends an invalidation; `done` gets whether Redis took it.
  void Append(const std::string& tenant, const std::string& model,
              std::function<void(bool)> done);

 private:
  void PollLoop();
  // One poll: applies what came since `seen_` (or only learns where the log
  // is, the first time).
  void Poll();

  redis::RedisClient* const redis_;
  const Forget forget_;
  const absl::Duration poll_;
  int64_t seen_ = -1;  // the log's number when last asked; -1: never
  std::atomic<bool> following_{false};
  absl::Notification stop_;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace sluice::cache
