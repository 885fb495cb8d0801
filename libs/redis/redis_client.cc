#include "libs/redis/redis_client.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/redis/redis_client_impl.h"

namespace sluice::redis {

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Create(
    RedisOptions options) {
  const std::string& address = options.address;
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) ||
      port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis address \"", address, "\" is not host:port"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:6379
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis address \"", address, "\" has no host"));
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.command_timeout <= absl::ZeroDuration() ||
      options.reconnect_backoff <= absl::ZeroDuration() ||
      options.max_reconnect_backoff < options.reconnect_backoff) {
    return absl::InvalidArgumentError(
        "redis timeouts and backoffs must be positive, and "
        "max_reconnect_backoff at least reconnect_backoff");
  }
  if (options.max_in_flight <= 0) {
    return absl::InvalidArgumentError("redis max_in_flight must be positive");
  }
  return std::make_unique<AsioRedisClient>(std::move(options), std::move(host),
                                           port);
}

absl::StatusOr<RedisReply> CommandSync(RedisClient& client,
                                       std::vector<std::string> args,
                                       absl::Duration timeout) {
  // Shared: the callback may outlive this call when it times out.
  struct Result {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::StatusOr<RedisReply> reply ABSL_GUARDED_BY(mu);
  };
  auto result = std::make_shared<Result>();
  client.Command(std::move(args), [result](absl::StatusOr<RedisReply> reply) {
    absl::MutexLock lock(&result->mu);
    result->reply = std::move(reply);
    result->done = true;
  });
  absl::MutexLock lock(&result->mu);
  if (!result->mu.AwaitWithTimeout(absl::Condition(&result->done), timeout)) {
    return absl::DeadlineExceededError("no redis reply in time");
  }
  return std::move(result->reply);
}

}  // namespace sluice::redis
