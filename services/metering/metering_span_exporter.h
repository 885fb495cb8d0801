// Sends a process's spans to the Metering component (co-hosted or remote),
// which keeps them for the console.
#pragma once

#include <vector>

#include "absl/time/time.h"
#include "libs/trace/tracer.h"
#include "services/metering/metering.h"

namespace sluice::metering {

class MeteringSpanExporter final : public trace::SpanExporter {
 public:
  // `metering` must outlive this (the host stops the tracer before it
  // destroys components).
  explicit MeteringSpanExporter(Metering* metering,
                                absl::Duration timeout = absl::Seconds(5))
      : metering_(metering), timeout_(timeout) {}

  absl::Status Export(sluice::v1::SpanBatch batch) override;
  const char* name() const override { return "metering"; }

 private:
  Metering* const metering_;
  const absl::Duration timeout_;
};

}  // namespace sluice::metering
