#include "tests/support/otlp_collector.h"

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"

namespace sluice::testing {
namespace {

std::string StringField(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject() || !object.HasMember(name) ||
      !object[name].IsString()) {
    return "";
  }
  return object[name].GetString();
}

// {"stringValue": ...} or {"intValue": "..."} as text; empty otherwise.
std::string AttributeText(const rapidjson::Value& value) {
  if (!value.IsObject()) return "";
  for (const char* field : {"stringValue", "intValue"}) {
    if (value.HasMember(field) && value[field].IsString()) {
      return value[field].GetString();
    }
  }
  if (value.HasMember("boolValue") && value["boolValue"].IsBool()) {
    return value["boolValue"].GetBool() ? "true" : "false";
  }
  if (value.HasMember("doubleValue") && value["doubleValue"].IsNumber()) {
    return absl::StrCat(value["doubleValue"].GetDouble());
  }
  return "";
}

}  // namespace

std::string ReceivedSpan::Attribute(const std::string& key) const {
  for (const auto& [name, value] : attributes) {
    if (name == key) return value;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<OtlpCollector>> OtlpCollector::Start() {
  std::unique_ptr<OtlpCollector> collector(new OtlpCollector());
  OtlpCollector* raw = collector.get();
  http::ServerOptions options;
  absl::StatusOr<http::ServerPtr> server = http::StartServer(
      options, [raw](http::Request request, http::ResponseWriterPtr writer) {
        raw->Receive(request, *writer);
      });
  if (!server.ok()) return server.status();
  collector->server_ = *std::move(server);
  return collector;
}

std::string OtlpCollector::endpoint() const {
  return absl::StrCat("http://127.0.0.1:", server_->port());
}

std::vector<ReceivedSpan> OtlpCollector::spans() const {
  absl::MutexLock lock(&mu_);
  return spans_;
}

int OtlpCollector::malformed() const {
  absl::MutexLock lock(&mu_);
  return malformed_;
}

std::string OtlpCollector::bodies() const {
  absl::MutexLock lock(&mu_);
  return bodies_;
}

bool OtlpCollector::WaitFor(
    const std::function<bool(const ReceivedSpan&)>& match,
    absl::Duration timeout) const {
  auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const ReceivedSpan& span : spans_) {
      if (match(span)) return true;
    }
    return false;
  };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&found), timeout);
}

void OtlpCollector::Receive(const http::Request& request,
                            http::ResponseWriter& writer) {
  {
    absl::MutexLock lock(&mu_);
    absl::StrAppend(&bodies_, request.body, "\n");
  }
  rapidjson::Document body;
  body.Parse(request.body.data(), request.body.size());
  const bool well_formed =
      request.method == "POST" && request.path == "/v1/traces" &&
      request.Header("content-type") == "application/json" &&
      !body.HasParseError() && body.IsObject() &&
      body.HasMember("resourceSpans") && body["resourceSpans"].IsArray();
  if (!well_formed) {
    absl::MutexLock lock(&mu_);
    ++malformed_;
    writer.Respond(400, {}, "malformed");
    return;
  }
  std::vector<ReceivedSpan> received;
  for (const auto& resource : body["resourceSpans"].GetArray()) {
    std::string service;
    if (resource.HasMember("resource") &&
        resource["resource"].HasMember("attributes")) {
      for (const auto& attribute :
           resource["resource"]["attributes"].GetArray()) {
        if (StringField(attribute, "key") == "service.name") {
          service = AttributeText(attribute["value"]);
        }
      }
    }
    if (!resource.HasMember("scopeSpans")) continue;
    for (const auto& scope : resource["scopeSpans"].GetArray()) {
      if (!scope.HasMember("spans")) continue;
      for (const auto& span : scope["spans"].GetArray()) {
        ReceivedSpan& out = received.emplace_back();
        out.service = service;
        out.trace_id = StringField(span, "traceId");
        out.span_id = StringField(span, "spanId");
        out.parent_span_id = StringField(span, "parentSpanId");
        out.name = StringField(span, "name");
        out.kind = span.HasMember("kind") && span["kind"].IsInt()
                       ? span["kind"].GetInt()
                       : 0;
        out.start = StringField(span, "startTimeUnixNano");
        out.end = StringField(span, "endTimeUnixNano");
        if (span.HasMember("status") && span["status"].HasMember("code")) {
          out.status_code = span["status"]["code"].GetInt();
        }
        if (span.HasMember("attributes")) {
          for (const auto& attribute : span["attributes"].GetArray()) {
            out.attributes.emplace_back(StringField(attribute, "key"),
                                        AttributeText(attribute["value"]));
          }
        }
      }
    }
  }
  {
    absl::MutexLock lock(&mu_);
    for (auto& span : received) spans_.push_back(std::move(span));
  }
  writer.Respond(200, {{"content-type", "application/json"}}, "{}");
}

}  // namespace sluice::testing
