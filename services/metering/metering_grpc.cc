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

grpc::ServerUnaryReactor* MeteringGrpc::Report(
    grpc::CallbackServerContext* context, const sluice::v1::ReportQuery* query,
    sluice::v1::ReportResponse* report) {
  return host::ServeUnary(context, auth_, report,
                          [&](host::CallContextPtr ctx, auto done) {
                            metering_->Report(std::move(ctx), *query,
                                              std::move(done));
                          });
}

grpc::ServerUnaryReactor* MeteringGrpc::GetRequest(
    grpc::CallbackServerContext* context,
    const sluice::v1::RequestLookup* lookup, sluice::v1::UsageEvent* event) {
  return host::ServeUnary(context, auth_, event,
                          [&](host::CallContextPtr ctx, auto done) {
                            metering_->GetRequest(std::move(ctx), *lookup,
                                                  std::move(done));
                          });
}

grpc::ServerUnaryReactor* MeteringGrpc::RecordSpans(
    grpc::CallbackServerContext* context, const sluice::v1::SpanBatch* batch,
    sluice::v1::SpanBatchResult* result) {
  return host::ServeUnary(context, auth_, result,
                          [&](host::CallContextPtr ctx, auto done) {
                            metering_->RecordSpans(std::move(ctx), *batch,
                                                   std::move(done));
                          });
}

grpc::ServerUnaryReactor* MeteringGrpc::GetTrace(
    grpc::CallbackServerContext* context, const sluice::v1::TraceLookup* lookup,
    sluice::v1::Trace* trace) {
  return host::ServeUnary(context, auth_, trace,
                          [&](host::CallContextPtr ctx, auto done) {
                            metering_->GetTrace(std::move(ctx), *lookup,
                                                std::move(done));
                          });
}

}  // namespace sluice::metering
