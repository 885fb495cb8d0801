// A UsageReporter that keeps every event it is given, for tests that check
// what a RequestRecord reports. Thread-safe.
#pragma once

#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::ingress {

class CollectingReporter : public UsageReporter {
 public:
  // UsageReporter
  void Report(const sluice::v1::UsageEvent& event,
              std::shared_ptr<void>) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  }

  std::vector<sluice::v1::UsageEvent> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<sluice::v1::UsageEvent> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::ingress
