#include "tests/integration/usage_events.h"

#include <utility>

#include "gtest/gtest.h"

namespace sluice::testing {

UsageEvents::UsageEvents(const std::string& brokers, const std::string& group) {
  kafka::ConsumerOptions options;
  options.brokers = brokers;
  options.group_id = group;
  options.topics = {"sluice.usage"};
  options.extra = {{"session.timeout.ms", "4500"},
                   {"heartbeat.interval.ms", "300"},
                   {"fetch.wait.max.ms", "50"}};
  auto consumer = kafka::Consumer::Create(options);
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  consumer_ = *std::move(consumer);
  EXPECT_TRUE(consumer_
                  ->Start([this](const kafka::Message& message) {
                    sluice::v1::UsageEvent event;
                    event.ParseFromString(message.value);
                    absl::MutexLock lock(&mu_);
                    // A message read again (this consumer's group lost its
                    // coordinator and rejoined) is the same event, not a
                    // second one: only a new offset is.
                    if (seen_.insert({message.partition, message.offset})
                            .second) {
                      events_.push_back(std::move(event));
                    }
                    return absl::OkStatus();
                  })
                  .ok());
}

UsageEvents::~UsageEvents() { consumer_->Stop(); }

std::vector<sluice::v1::UsageEvent> UsageEvents::WaitFor(
    const std::set<std::string>& ids, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  auto all_seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::set<std::string> seen;
    for (const auto& event : events_) seen.insert(event.client_request_id());
    for (const std::string& id : ids) {
      if (!seen.contains(id)) return false;
    }
    return true;
  };
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithDeadline(absl::Condition(&all_seen), deadline);
  }
  absl::SleepFor(absl::Seconds(1));
  absl::MutexLock lock(&mu_);
  return events_;
}

}  // namespace sluice::testing
