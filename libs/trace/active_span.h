// A span being timed. Components start one where their part of a request
// begins and end it where it ends (or let it end when it goes):
//
//   trace::ActiveSpan span = trace::ActiveSpan::Start(
//       "route", trace::SpanKind::kInternal, context->traceparent(),
//       context->request_id());
//   span.SetString("sluice.task_class", task);
//   ... calls made for it carry span.traceparent() ...
//
// A span whose trace is not sampled, or made while the process records
// nothing, costs no allocation: every call on it does nothing and
// traceparent() is the parent's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/obs/trace_context.h"
#include "libs/trace/tracer.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::trace {

// OTLP's SpanKind values.
enum class SpanKind : int32_t { kInternal = 1, kServer = 2, kClient = 3 };

class ActiveSpan {
 public:
  // Not recording.
  ActiveSpan() = default;
  ActiveSpan(ActiveSpan&&) = default;
  ActiveSpan& operator=(ActiveSpan&& other);
  ~ActiveSpan() { End(); }

  // A child of the span `parent_traceparent` names; not recording when it
  // is empty, malformed or not sampled, or when `tracer` records nothing.
  static ActiveSpan Start(absl::string_view name, SpanKind kind,
                          absl::string_view parent_traceparent,
                          absl::string_view request_id,
                          absl::Time start = absl::Now(),
                          Tracer& tracer = Tracer::Process());
  // The span `self` already names (its ids chosen by the caller), under
  // the span `parent_span_id` (hex; empty for a root).
  static ActiveSpan StartAs(absl::string_view name, SpanKind kind,
                            const obs::TraceContext& self,
                            absl::string_view parent_span_id,
                            absl::string_view request_id, absl::Time start,
                            Tracer& tracer = Tracer::Process());

  bool recording() const { return span_ != nullptr; }
  // What calls made for this span carry: this span's traceparent, or the
  // parent's when not recording.
  const std::string& traceparent() const { return traceparent_; }

  // Attributes, in OpenTelemetry's names where it has one.
  ActiveSpan& SetString(absl::string_view key, absl::string_view value);
  ActiveSpan& SetInt(absl::string_view key, int64_t value);
  ActiveSpan& SetDouble(absl::string_view key, double value);
  ActiveSpan& SetBool(absl::string_view key, bool value);
  // Status error with `message` (and `error.type` when given).
  ActiveSpan& SetError(absl::string_view type, absl::string_view message);
  ActiveSpan& SetOk();

  // Records the span (once; later calls do nothing).
  void End(absl::Time end = absl::Now());

 private:
  sluice::v1::SpanAttribute* Add(absl::string_view key);

  std::unique_ptr<sluice::v1::Span> span_;
  std::string traceparent_;
  Tracer* tracer_ = nullptr;
};

}  // namespace sluice::trace
