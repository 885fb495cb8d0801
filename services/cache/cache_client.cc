#include "services/cache/cache_client.h"

#include "libs/host/grpc_client_call.h"
#include "services/cache/remote_fill.h"

namespace sluice::cache {

using sluice::v1::CacheEvent;

void CacheClient::Lookup(host::CallContextPtr context,
                         sluice::v1::CacheLookupRequest request,
                         host::Sink<CacheEvent>* sink) {
  auto held =
      std::make_shared<sluice::v1::CacheLookupRequest>(std::move(request));
  sluice::v1::Cache::Stub* stub = stub_.get();
  host::ClientStreamCall<CacheEvent>::Run(
      [stub, held](grpc::ClientContext* c,
                   grpc::ClientReadReactor<CacheEvent>* r) {
        stub->async()->Lookup(c, held.get(), r);
      },
      context, auth_, sink, held);
}

CacheFill* CacheClient::StartFill(host::CallContextPtr context,
                                  std::string lease) {
  return RemoteFill::Start(stub_.get(), *context, auth_, lease);
}

void CacheClient::Invalidate(
    host::CallContextPtr context, sluice::v1::CacheInvalidateRequest request,
    host::Callback<sluice::v1::CacheInvalidateResponse> done) {
  sluice::v1::Cache::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::CacheInvalidateResponse>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->Invalidate(c, q, r, std::move(f));
      },
      context, auth_, std::move(request), std::move(done));
}

void CacheClient::Stats(host::CallContextPtr context,
                        sluice::v1::CacheStatsRequest request,
                        host::Callback<sluice::v1::CacheStatsResponse> done) {
  sluice::v1::Cache::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::CacheStatsResponse>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->Stats(c, q, r, std::move(f));
      },
      context, auth_, std::move(request), std::move(done));
}

host::ClientDefinition CacheClientDefinition() {
  return {kServiceName,
          [](host::Components& components,
             std::shared_ptr<grpc::Channel> channel,
             const host::InternalAuth* auth) {
            components.Own<Cache>(
                kServiceName,
                std::make_shared<CacheClient>(std::move(channel), auth));
          }};
}

}  // namespace sluice::cache
