#include "services/metering/metering_grpc.h"

#include "libs/host/grpc_server_call.h"

namespace sluice::metering {

grpc::ServerUnaryReactor* MeteringGrpc::GetUsage(
    grpc::CallbackServerContext* context, const sluice::v1::UsageQuery* query,
    sluice::v1::UsageReport* report) {
  return host::ServeUnary(context, auth_, report,
                          [&](host::CallContextPtr ctx, auto done) {
                            metering_->GetUsage(std::move(ctx), *query,
                                                std::move(done));
                          });
}

}  // namespace sluice::metering
