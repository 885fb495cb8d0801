#include "services/scheduler/scheduler_service.h"

#include <memory>

#include "services/adapters/adapters.h"
#include "services/scheduler/scheduler.h"
#include "services/scheduler/scheduler_impl.h"

namespace sluice::scheduler {
namespace {

class HostedScheduler final : public host::HostedService {
 public:
  explicit HostedScheduler(std::unique_ptr<SchedulerImpl> scheduler)
      : scheduler_(std::move(scheduler)) {}

  // Its callers (the router) drained first: what is still queued is
  // answered UNAVAILABLE.
  void Drain(absl::Time) override { scheduler_->Drain(); }

 private:
  std::unique_ptr<SchedulerImpl> scheduler_;
};

}  // namespace

host::ServiceDefinition SchedulerServiceDefinition() {
  return {kServiceName, /*uses_kafka=*/false,
          [](host::HostEnvironment& env)
              -> absl::StatusOr<std::unique_ptr<host::HostedService>> {
            absl::StatusOr<std::unique_ptr<SchedulerImpl>> scheduler =
                SchedulerImpl::Create(env.config,
                                      env.components.Find<adapters::Adapters>(
                                          adapters::kServiceName),
                                      env.io);
            if (!scheduler.ok()) return scheduler.status();
            env.components.Provide<adapters::Adapters>(kServiceName,
                                                       scheduler->get());
            return std::make_unique<HostedScheduler>(*std::move(scheduler));
          }};
}

}  // namespace sluice::scheduler
