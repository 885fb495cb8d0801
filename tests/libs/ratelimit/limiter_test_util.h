// Blocking wrappers over the asynchronous Limiter, and a fixture with a
// private redis-server, for the limiter tests.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "absl/synchronization/notification.h"
#include "libs/ratelimit/limiter.h"
#include "tests/libs/redis/redis_test_util.h"

namespace sluice::ratelimit::testing {

inline absl::StatusOr<Verdict> ReserveSync(Limiter& limiter,
                                           const std::vector<Subject>& subjects,
                                           const Ask& ask) {
  absl::Notification done;
  std::optional<absl::StatusOr<Verdict>> result;
  limiter.Reserve(subjects, ask, [&](absl::StatusOr<Verdict> v) {
    result = std::move(v);
    done.Notify();
  });
  done.WaitForNotification();
  return *std::move(result);
}

inline absl::Status SettleSync(Limiter& limiter, const std::string& reservation,
                               const Ask& actual) {
  absl::Notification done;
  absl::Status result;
  limiter.Settle(reservation, actual, [&](absl::Status s) {
    result = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

// A private redis-server; Connect() gives a client with a command timeout
// long enough for a loaded test machine.
class RedisLimiterTest : public redis::testing::RedisClientTest {
 protected:
  std::unique_ptr<redis::RedisClient> ConnectPatient() {
    return Connect(absl::Seconds(5));
  }
};

}  // namespace sluice::ratelimit::testing
