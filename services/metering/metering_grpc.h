// The Metering component's gRPC face on the internal listener.
#pragma once

#include "libs/host/internal_auth.h"
#include "services/metering/metering.h"
#include "sluice/v1/metering.grpc.pb.h"

namespace sluice::metering {

class MeteringGrpc final : public sluice::v1::Metering::CallbackService {
 public:
  // Both must outlive this.
  MeteringGrpc(Metering* metering, const host::InternalAuth* auth)
      : metering_(metering), auth_(auth) {}

  grpc::ServerUnaryReactor* GetUsage(grpc::CallbackServerContext* context,
                                     const sluice::v1::UsageQuery* query,
                                     sluice::v1::UsageReport* report) override;
  grpc::ServerUnaryReactor* Report(grpc::CallbackServerContext* context,
                                   const sluice::v1::ReportQuery* query,
                                   sluice::v1::ReportResponse* report) override;
  grpc::ServerUnaryReactor* GetRequest(grpc::CallbackServerContext* context,
                                       const sluice::v1::RequestLookup* lookup,
                                       sluice::v1::UsageEvent* event) override;
  grpc::ServerUnaryReactor* RecordSpans(
      grpc::CallbackServerContext* context, const sluice::v1::SpanBatch* batch,
      sluice::v1::SpanBatchResult* result) override;
  grpc::ServerUnaryReactor* GetTrace(grpc::CallbackServerContext* context,
                                     const sluice::v1::TraceLookup* lookup,
                                     sluice::v1::Trace* trace) override;

 private:
  Metering* metering_;
  const host::InternalAuth* auth_;
};

}  // namespace sluice::metering
