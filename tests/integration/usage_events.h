// Every usage event a gateway sends to its Kafka topic, read as it comes
// (a consumer group of the test's own), for tests that check that each
// request was metered exactly once.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/kafka/consumer.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::testing {

class UsageEvents {
 public:
  UsageEvents(const std::string& brokers, const std::string& group);
  ~UsageEvents();

  // Waits (up to `timeout`) until every client request id in `ids` has an
  // event, then a second longer to catch a second one; all events so far.
  std::vector<sluice::v1::UsageEvent> WaitFor(
      const std::set<std::string>& ids,
      absl::Duration timeout = absl::Seconds(45));

 private:
  std::unique_ptr<kafka::Consumer> consumer_;
  absl::Mutex mu_;
  std::vector<sluice::v1::UsageEvent> events_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int32_t, int64_t>> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::testing
