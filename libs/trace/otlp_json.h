// Spans in OTLP/HTTP's JSON encoding (ExportTraceServiceRequest): one
// resourceSpans entry per service.name, ids as hex, times and integers as
// decimal strings, as the OTLP JSON mapping requires.
#pragma once

#include <string>
#include <vector>

#include "sluice/v1/metering.pb.h"

namespace sluice::trace {

std::string OtlpTracesJson(const sluice::v1::SpanBatch& batch);

}  // namespace sluice::trace
