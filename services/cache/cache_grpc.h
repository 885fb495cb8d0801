// The Cache component's gRPC face on the internal listener.
#pragma once

#include "libs/host/internal_auth.h"
#include "services/cache/cache.h"
#include "sluice/v1/cache.grpc.pb.h"

namespace sluice::cache {

class CacheGrpc final : public sluice::v1::Cache::CallbackService {
 public:
  // Both must outlive this.
  CacheGrpc(Cache* cache, const host::InternalAuth* auth)
      : cache_(cache), auth_(auth) {}

  grpc::ServerWriteReactor<sluice::v1::CacheEvent>* Lookup(
      grpc::CallbackServerContext* context,
      const sluice::v1::CacheLookupRequest* request) override;
  grpc::ServerReadReactor<sluice::v1::CacheFill>* Fill(
      grpc::CallbackServerContext* context,
      sluice::v1::CacheFillResponse* response) override;
  grpc::ServerUnaryReactor* Invalidate(
      grpc::CallbackServerContext* context,
      const sluice::v1::CacheInvalidateRequest* request,
      sluice::v1::CacheInvalidateResponse* response) override;
  grpc::ServerUnaryReactor* Stats(
      grpc::CallbackServerContext* context,
      const sluice::v1::CacheStatsRequest* request,
      sluice::v1::CacheStatsResponse* response) override;

 private:
  Cache* cache_;
  const host::InternalAuth* auth_;
};

}  // namespace sluice::cache
