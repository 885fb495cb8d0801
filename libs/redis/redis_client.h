// An asynchronous Redis client for hot request paths: commands never block
// the caller, and a Redis that is down or slow costs a request at most
// `command_timeout`, never more. Built on hiredis' async API driven by one
// Boost.Asio thread per client; reconnects by itself with backoff.
//
// Metrics (MetricsRegistry::Default()): sluice_redis_errors_total{kind}
// (kind = timeout, unavailable, overloaded, error_reply),
// sluice_redis_connected (how many clients are connected),
// sluice_redis_command_seconds (time to a reply, for replies that came in
// time).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/redis/redis_reply.h"

namespace sluice::redis {

struct RedisOptions {
  std::string address;  // "host:port"
  absl::Duration connect_timeout = absl::Milliseconds(200);
  // Per command; a reply that comes later is dropped.
  absl::Duration command_timeout = absl::Milliseconds(50);
  // The wait before reconnecting; doubles up to max_reconnect_backoff while
  // Redis stays down.
  absl::Duration reconnect_backoff = absl::Milliseconds(100);
  absl::Duration max_reconnect_backoff = absl::Seconds(2);
  // Commands sent and not yet answered (timed-out ones included, as their
  // replies are still owed). Beyond it commands fail with UNAVAILABLE, so a
  // hung Redis cannot make the client's memory grow without bound.
  int max_in_flight = 100000;
};

// Runs exactly once, on the client's thread; must not block.
using ReplyCallback = std::function<void(absl::StatusOr<RedisReply>)>;

class RedisClient {
 public:
  // Starts connecting in the background and returns without waiting; fails
  // only on bad options.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Create(
      RedisOptions options);

  // Callbacks still pending run with CANCELLED before the destructor
  // returns. Must not run on the client's own thread (inside a callback).
  virtual ~RedisClient() = default;

  // Thread-safe, never blocks. `args` are the command's words, binary-safe.
  // `done` gets the reply (a Redis error reply is a RedisReply of type
  // kError, not a status), or UNAVAILABLE at once while disconnected (there
  // is no queueing while down), or DEADLINE_EXCEEDED after command_timeout.
  // SUBSCRIBE-style and MONITOR commands are refused (INVALID_ARGUMENT).
  virtual void Command(std::vector<std::string> args, ReplyCallback done) = 0;

  // Runs a Lua script by EVALSHA, falling back to EVAL on NOSCRIPT (after a
  // SCRIPT FLUSH or a Redis restart). A script not yet known to be loaded
  // is sent with EVAL, which loads it.
  virtual void Eval(const std::string& script, std::vector<std::string> keys,
                    std::vector<std::string> args, ReplyCallback done) = 0;

  virtual bool connected() const = 0;
};

using RedisClientPtr = std::unique_ptr<RedisClient>;

// Blocking, for tests and tools only (never on a request path, never on
// the client's thread). DEADLINE_EXCEEDED if no answer within `timeout`.
absl::StatusOr<RedisReply> CommandSync(
    RedisClient& client, std::vector<std::string> args,
    absl::Duration timeout = absl::Seconds(2));

}  // namespace sluice::redis
