#include "libs/trace/active_span.h"

#include <utility>

namespace sluice::trace {

ActiveSpan& ActiveSpan::operator=(ActiveSpan&& other) {
  if (this != &other) {
    End();
    span_ = std::move(other.span_);
    traceparent_ = std::move(other.traceparent_);
    tracer_ = other.tracer_;
  }
  return *this;
}

ActiveSpan ActiveSpan::Start(absl::string_view name, SpanKind kind,
                             absl::string_view parent_traceparent,
                             absl::string_view request_id, absl::Time start,
                             Tracer& tracer) {
  ActiveSpan span;
  span.traceparent_ = std::string(parent_traceparent);
  if (!tracer.recording() || parent_traceparent.empty()) return span;
  absl::StatusOr<obs::TraceContext> parent =
      obs::ParseTraceparent(parent_traceparent);
  if (!parent.ok() || (parent->flags & 1) == 0) return span;
  obs::TraceContext self = obs::ChildSpan(*parent, obs::ThreadLocalRandom());
  return StartAs(name, kind, self, parent->SpanIdHex(), request_id, start,
                 tracer);
}

ActiveSpan ActiveSpan::StartAs(absl::string_view name, SpanKind kind,
                               const obs::TraceContext& self,
                               absl::string_view parent_span_id,
                               absl::string_view request_id, absl::Time start,
                               Tracer& tracer) {
  ActiveSpan span;
  span.traceparent_ = obs::FormatTraceparent(self);
  if (!tracer.recording() || (self.flags & 1) == 0) return span;
  span.tracer_ = &tracer;
  span.span_ = std::make_unique<sluice::v1::Span>();
  sluice::v1::Span& data = *span.span_;
  data.set_trace_id(self.TraceIdHex());
  data.set_span_id(self.SpanIdHex());
  data.set_parent_span_id(std::string(parent_span_id));
  data.set_name(std::string(name));
  data.set_kind(static_cast<int32_t>(kind));
  data.set_start_unix_nano(absl::ToUnixNanos(start));
  data.set_request_id(std::string(request_id));
  return span;
}

sluice::v1::SpanAttribute* ActiveSpan::Add(absl::string_view key) {
  sluice::v1::SpanAttribute* attribute = span_->add_attributes();
  attribute->set_key(std::string(key));
  return attribute;
}

ActiveSpan& ActiveSpan::SetString(absl::string_view key,
                                  absl::string_view value) {
  if (span_ != nullptr) Add(key)->set_string_value(std::string(value));
  return *this;
}

ActiveSpan& ActiveSpan::SetInt(absl::string_view key, int64_t value) {
  if (span_ != nullptr) Add(key)->set_int_value(value);
  return *this;
}

ActiveSpan& ActiveSpan::SetDouble(absl::string_view key, double value) {
  if (span_ != nullptr) Add(key)->set_double_value(value);
  return *this;
}

ActiveSpan& ActiveSpan::SetBool(absl::string_view key, bool value) {
  if (span_ != nullptr) Add(key)->set_bool_value(value);
  return *this;
}

ActiveSpan& ActiveSpan::SetError(absl::string_view type,
                                 absl::string_view message) {
  if (span_ == nullptr) return *this;
  span_->set_status_code(2);
  span_->set_status_message(std::string(message));
  if (!type.empty()) SetString("error.type", type);
  return *this;
}

ActiveSpan& ActiveSpan::SetOk() {
  if (span_ != nullptr) span_->set_status_code(1);
  return *this;
}

void ActiveSpan::End(absl::Time end) {
  if (span_ == nullptr) return;
  span_->set_end_unix_nano(absl::ToUnixNanos(end));
  tracer_->Record(std::move(*span_));
  span_.reset();
}

}  // namespace sluice::trace
