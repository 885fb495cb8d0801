// The Cache component of another process, over gRPC.
#pragma once

#include <memory>

#include "libs/host/host.h"
#include "services/cache/cache.h"
#include "sluice/v1/cache.grpc.pb.h"

namespace sluice::cache {

class CacheClient final : public Cache {
 public:
  CacheClient(std::shared_ptr<grpc::Channel> channel,
              const host::InternalAuth* auth)
      : stub_(sluice::v1::Cache::NewStub(std::move(channel))), auth_(auth) {}

  // Cache
  void Lookup(host::CallContextPtr context,
              sluice::v1::CacheLookupRequest request,
              host::Sink<sluice::v1::CacheEvent>* sink) override;
  CacheFill* StartFill(host::CallContextPtr context, std::string lease) override;
  void Invalidate(
      host::CallContextPtr context, sluice::v1::CacheInvalidateRequest request,
      host::Callback<sluice::v1::CacheInvalidateResponse> done) override;
  void Stats(host::CallContextPtr context, sluice::v1::CacheStatsRequest request,
             host::Callback<sluice::v1::CacheStatsResponse> done) override;

 private:
  std::unique_ptr<sluice::v1::Cache::Stub> stub_;
  const host::InternalAuth* auth_;
};

// How a process that does not host the cache reaches it.
host::ClientDefinition CacheClientDefinition();

}  // namespace sluice::cache
