#include "services/metering/metering_client.h"

#include "libs/host/grpc_client_call.h"

namespace sluice::metering {

void MeteringClient::GetUsage(host::CallContextPtr context,
                              sluice::v1::UsageQuery query,
                              host::Callback<sluice::v1::UsageReport> done) {
  sluice::v1::Metering::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::UsageReport>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->GetUsage(c, q, r, std::move(f));
      },
      context, auth_, std::move(query), std::move(done));
}

void MeteringClient::Report(host::CallContextPtr context,
                            sluice::v1::ReportQuery query,
                            host::Callback<sluice::v1::ReportResponse> done) {
  sluice::v1::Metering::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::ReportResponse>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->Report(c, q, r, std::move(f));
      },
      context, auth_, std::move(query), std::move(done));
}

void MeteringClient::GetRequest(host::CallContextPtr context,
                                sluice::v1::RequestLookup lookup,
                                host::Callback<sluice::v1::UsageEvent> done) {
  sluice::v1::Metering::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::UsageEvent>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->GetRequest(c, q, r, std::move(f));
      },
      context, auth_, std::move(lookup), std::move(done));
}

void MeteringClient::RecordSpans(
    host::CallContextPtr context, sluice::v1::SpanBatch batch,
    host::Callback<sluice::v1::SpanBatchResult> done) {
  sluice::v1::Metering::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::SpanBatchResult>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->RecordSpans(c, q, r, std::move(f));
      },
      context, auth_, std::move(batch), std::move(done));
}

void MeteringClient::GetTrace(host::CallContextPtr context,
                              sluice::v1::TraceLookup lookup,
                              host::Callback<sluice::v1::Trace> done) {
  sluice::v1::Metering::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::Trace>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->GetTrace(c, q, r, std::move(f));
      },
      context, auth_, std::move(lookup), std::move(done));
}

host::ClientDefinition MeteringClientDefinition() {
  return {kServiceName,
          [](host::Components& components,
             std::shared_ptr<grpc::Channel> channel,
             const host::InternalAuth* auth) {
            components.Own<Metering>(
                kServiceName,
                std::make_shared<MeteringClient>(std::move(channel), auth));
          }};
}

}  // namespace sluice::metering
