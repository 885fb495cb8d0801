#include "libs/trace/otlp_json.h"

#include <map>
#include <string_view>

#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sluice::trace {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(Writer& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void String(Writer& writer, std::string_view value) {
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void Attribute(Writer& writer, const sluice::v1::SpanAttribute& attribute) {
  writer.StartObject();
  Key(writer, "key");
  String(writer, attribute.key());
  Key(writer, "value");
  writer.StartObject();
  switch (attribute.value_case()) {
    case sluice::v1::SpanAttribute::kIntValue:
      Key(writer, "intValue");
      String(writer, std::to_string(attribute.int_value()));
      break;
    case sluice::v1::SpanAttribute::kDoubleValue:
      Key(writer, "doubleValue");
      writer.Double(attribute.double_value());
      break;
    case sluice::v1::SpanAttribute::kBoolValue:
      Key(writer, "boolValue");
      writer.Bool(attribute.bool_value());
      break;
    default:
      Key(writer, "stringValue");
      String(writer, attribute.string_value());
      break;
  }
  writer.EndObject();
  writer.EndObject();
}

void SpanJson(Writer& writer, const sluice::v1::Span& span) {
  writer.StartObject();
  Key(writer, "traceId");
  String(writer, span.trace_id());
  Key(writer, "spanId");
  String(writer, span.span_id());
  if (!span.parent_span_id().empty()) {
    Key(writer, "parentSpanId");
    String(writer, span.parent_span_id());
  }
  Key(writer, "name");
  String(writer, span.name());
  Key(writer, "kind");
  writer.Int(span.kind());
  Key(writer, "startTimeUnixNano");
  String(writer, std::to_string(span.start_unix_nano()));
  Key(writer, "endTimeUnixNano");
  String(writer, std::to_string(span.end_unix_nano()));
  Key(writer, "attributes");
  writer.StartArray();
  if (!span.request_id().empty()) {
    sluice::v1::SpanAttribute id;
    id.set_key("sluice.request_id");
    id.set_string_value(span.request_id());
    Attribute(writer, id);
  }
  for (const auto& attribute : span.attributes()) Attribute(writer, attribute);
  writer.EndArray();
  if (span.status_code() != 0) {
    Key(writer, "status");
    writer.StartObject();
    Key(writer, "code");
    writer.Int(span.status_code());
    if (!span.status_message().empty()) {
      Key(writer, "message");
      String(writer, span.status_message());
    }
    writer.EndObject();
  }
  writer.EndObject();
}

}  // namespace

std::string OtlpTracesJson(const sluice::v1::SpanBatch& batch) {
  std::map<std::string_view, std::vector<const sluice::v1::Span*>> by_service;
  for (const auto& span : batch.spans()) {
    by_service[span.service()].push_back(&span);
  }

  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  Key(writer, "resourceSpans");
  writer.StartArray();
  for (const auto& [service, service_spans] : by_service) {
    writer.StartObject();
    Key(writer, "resource");
    writer.StartObject();
    Key(writer, "attributes");
    writer.StartArray();
    sluice::v1::SpanAttribute name;
    name.set_key("service.name");
    name.set_string_value(std::string(service));
    Attribute(writer, name);
    writer.EndArray();
    writer.EndObject();
    Key(writer, "scopeSpans");
    writer.StartArray();
    writer.StartObject();
    Key(writer, "scope");
    writer.StartObject();
    Key(writer, "name");
    String(writer, "sluice");
    writer.EndObject();
    Key(writer, "spans");
    writer.StartArray();
    for (const sluice::v1::Span* span : service_spans) SpanJson(writer, *span);
    writer.EndArray();
    writer.EndObject();
    writer.EndArray();
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::trace
