// The Metering component: usage totals per tenant and model, built from
// the usage events it consumes from Kafka.
#pragma once

#include "libs/host/call_context.h"
#include "libs/host/sink.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::metering {

inline constexpr char kServiceName[] = "metering";

class Metering {
 public:
  virtual ~Metering() = default;
  // Totals for `query.tenant`; an empty tenant is refused (every call comes
  // for one tenant).
  virtual void GetUsage(host::CallContextPtr context,
                        sluice::v1::UsageQuery query,
                        host::Callback<sluice::v1::UsageReport> done) = 0;
  // Aggregates over time, filtered and grouped as `query` says; an empty
  // tenant means all of them (ingress lets only the admin key ask that).
  virtual void Report(host::CallContextPtr context,
                      sluice::v1::ReportQuery query,
                      host::Callback<sluice::v1::ReportResponse> done) = 0;
  // The stored usage event of one request: NOT_FOUND when there is none, or
  // when it is another tenant's than `lookup.tenant` (if set).
  virtual void GetRequest(host::CallContextPtr context,
                          sluice::v1::RequestLookup lookup,
                          host::Callback<sluice::v1::UsageEvent> done) = 0;
  // Spans from a process's tracer, kept for the console; answers at once
  // with how many were taken (a full queue takes fewer).
  virtual void RecordSpans(host::CallContextPtr context,
                           sluice::v1::SpanBatch batch,
                           host::Callback<sluice::v1::SpanBatchResult> done) = 0;
  // The spans kept for one request: NOT_FOUND when it is another tenant's
  // than `lookup.tenant` (if set), or when none are kept.
  virtual void GetTrace(host::CallContextPtr context,
                        sluice::v1::TraceLookup lookup,
                        host::Callback<sluice::v1::Trace> done) = 0;
};

}  // namespace sluice::metering
