// The Metering component of another process, over gRPC.
#pragma once

#include <memory>

#include "libs/host/host.h"
#include "services/metering/metering.h"
#include "sluice/v1/metering.grpc.pb.h"

namespace sluice::metering {

class MeteringClient final : public Metering {
 public:
  MeteringClient(std::shared_ptr<grpc::Channel> channel,
                 const host::InternalAuth* auth)
      : stub_(sluice::v1::Metering::NewStub(std::move(channel))), auth_(auth) {}

  // Metering
  void GetUsage(host::CallContextPtr context, sluice::v1::UsageQuery query,
                host::Callback<sluice::v1::UsageReport> done) override;
  void Report(host::CallContextPtr context, sluice::v1::ReportQuery query,
              host::Callback<sluice::v1::ReportResponse> done) override;
  void GetRequest(host::CallContextPtr context,
                  sluice::v1::RequestLookup lookup,
                  host::Callback<sluice::v1::UsageEvent> done) override;
  void RecordSpans(host::CallContextPtr context, sluice::v1::SpanBatch batch,
                   host::Callback<sluice::v1::SpanBatchResult> done) override;
  void GetTrace(host::CallContextPtr context, sluice::v1::TraceLookup lookup,
                host::Callback<sluice::v1::Trace> done) override;

 private:
  std::unique_ptr<sluice::v1::Metering::Stub> stub_;
  const host::InternalAuth* auth_;
};

// How a process that does not host metering reaches it.
host::ClientDefinition MeteringClientDefinition();

}  // namespace sluice::metering
