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
};

}  // namespace sluice::metering
