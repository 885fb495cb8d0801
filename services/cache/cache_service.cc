#include "services/cache/cache_service.h"

#include <memory>

#include "services/cache/cache_grpc.h"
#include "services/cache/cache_impl.h"

namespace sluice::cache {
namespace {

class HostedCache final : public host::HostedService {
 public:
  HostedCache(std::unique_ptr<CacheImpl> cache, const host::InternalAuth* auth)
      : cache_(std::move(cache)), grpc_(cache_.get(), auth) {}

  grpc::Service* internal_grpc() override { return &grpc_; }
  void Drain(absl::Time deadline) override { cache_->Drain(deadline); }

 private:
  std::unique_ptr<CacheImpl> cache_;
  CacheGrpc grpc_;
};

}  // namespace

host::ServiceDefinition CacheServiceDefinition() {
  return {kServiceName, /*uses_kafka=*/false,
          [](host::HostEnvironment& env)
              -> absl::StatusOr<std::unique_ptr<host::HostedService>> {
            absl::StatusOr<std::unique_ptr<CacheImpl>> cache =
                CacheImpl::Create(env.config);
            if (!cache.ok()) return cache.status();
            env.components.Provide<Cache>(kServiceName, cache->get());
            return std::make_unique<HostedCache>(*std::move(cache), env.auth);
          }};
}

}  // namespace sluice::cache
