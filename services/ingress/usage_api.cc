#include "services/ingress/usage_api.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "libs/status/errors.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "services/ingress/http_errors.h"

namespace sluice::ingress {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr char kRequestsPrefix[] = "/v1/usage/requests/";

// The parameters that make GET /v1/usage a report.
constexpr const char* kReportParameters[] = {
    "start", "end",      "granularity", "group_by", "tenant",
    "model", "provider", "key_id",      "format"};

std::string TotalsJson(const sluice::v1::UsageReport& report) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  json.Key("object");
  json.String("list");
  json.Key("events");
  json.Int64(report.events());
  json.Key("data");
  json.StartArray();
  for (const auto& total : report.totals()) {
    json.StartObject();
    json.Key("tenant");
    json.String(total.tenant().c_str());
    json.Key("model");
    json.String(total.model().c_str());
    for (const auto& [name, value] :
         {std::pair<const char*, int64_t>{"requests", total.requests()},
          {"errors", total.errors()},
          {"prompt_tokens", total.prompt_tokens()},
          {"completion_tokens", total.completion_tokens()},
          {"cached_tokens", total.cached_tokens()},
          {"reasoning_tokens", total.reasoning_tokens()},
          {"total_tokens", total.total_tokens()},
          {"price_micro_usd", total.price_micro_usd()},
          {"upstream_cost_micro_usd", total.upstream_cost_micro_usd()}}) {
      json.Key(name);
      json.Int64(value);
    }
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

const char* GranularityName(sluice::v1::Granularity granularity) {
  switch (granularity) {
    case sluice::v1::GRANULARITY_MINUTE:
      return "minute";
    case sluice::v1::GRANULARITY_HOUR:
      return "hour";
    case sluice::v1::GRANULARITY_DAY:
      return "day";
    default:
      return "total";
  }
}

// A report row's figures by name, in the order both formats use.
std::vector<std::pair<const char*, int64_t>> Figures(
    const sluice::v1::ReportRow& row) {
  return {{"requests", row.requests()},
          {"errors", row.errors()},
          {"rate_limited", row.rate_limited()},
          {"client_errors", row.client_errors()},
          {"server_errors", row.server_errors()},
          {"cancelled", row.cancelled()},
          {"prompt_tokens", row.prompt_tokens()},
          {"cached_tokens", row.cached_tokens()},
          {"completion_tokens", row.completion_tokens()},
          {"reasoning_tokens", row.reasoning_tokens()},
          {"price_micro_usd", row.price_micro_usd()},
          {"upstream_cost_micro_usd", row.upstream_cost_micro_usd()},
          {"cache_hits", row.cache_hits()},
          {"fallbacks", row.fallbacks()},
          {"cache_saved_micro_usd", row.cache_saved_micro_usd()},
          {"off_peak_saved_micro_usd", row.off_peak_saved_micro_usd()},
          {"latency_p50_ms", row.latency().p50_ms()},
          {"latency_p95_ms", row.latency().p95_ms()},
          {"latency_p99_ms", row.latency().p99_ms()},
          {"ttft_p50_ms", row.time_to_first_token().p50_ms()},
          {"ttft_p95_ms", row.time_to_first_token().p95_ms()},
          {"ttft_p99_ms", row.time_to_first_token().p99_ms()}};
}

std::vector<std::pair<const char*, const std::string*>> Dimensions(
    const sluice::v1::ReportRow& row) {
  return {{"tenant", &row.tenant()},
          {"key_id", &row.key_id()},
          {"model", &row.model()},
          {"provider", &row.provider()}};
}

std::string ReportJson(const sluice::v1::ReportResponse& report) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  json.Key("object");
  json.String("usage.report");
  json.Key("granularity");
  json.String(GranularityName(report.granularity()));
  json.Key("data");
  json.StartArray();
  for (const auto& row : report.rows()) {
    json.StartObject();
    if (row.has_bucket_start()) {
      json.Key("bucket_start");
      json.Int64(row.bucket_start().seconds());
    }
    for (const auto& [name, value] : Dimensions(row)) {
      if (value->empty()) continue;
      json.Key(name);
      json.String(value->c_str(),
                  static_cast<rapidjson::SizeType>(value->size()));
    }
    for (const auto& [name, value] : Figures(row)) {
      json.Key(name);
      json.Int64(value);
    }
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// RFC 4180: a field with a comma, quote or line break is quoted, its
// quotes doubled.
std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string ReportCsv(const sluice::v1::ReportResponse& report) {
  sluice::v1::ReportRow empty;
  std::vector<std::string> header = {"bucket_start"};
  for (const auto& [name, value] : Dimensions(empty)) header.push_back(name);
  for (const auto& [name, value] : Figures(empty)) header.push_back(name);
  std::string csv = absl::StrJoin(header, ",") + "\r\n";
  for (const auto& row : report.rows()) {
    std::vector<std::string> fields;
    fields.push_back(row.has_bucket_start()
                         ? absl::FormatTime(absl::RFC3339_sec,
                                            absl::FromUnixSeconds(
                                                row.bucket_start().seconds()),
                                            absl::UTCTimeZone())
                         : "");
    for (const auto& [name, value] : Dimensions(row)) {
      fields.push_back(CsvField(*value));
    }
    for (const auto& [name, value] : Figures(row)) {
      fields.push_back(std::to_string(value));
    }
    absl::StrAppend(&csv, absl::StrJoin(fields, ","), "\r\n");
  }
  return csv;
}

// Unix seconds or RFC 3339.
absl::StatusOr<google::protobuf::Timestamp> ParseTimeParam(
    const std::string& name, const std::string& value) {
  google::protobuf::Timestamp timestamp;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    timestamp.set_seconds(seconds);
    return timestamp;
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, value, &time, &error)) {
    return status::InvalidRequest(
        absl::StrCat("'", name,
                     "' must be Unix seconds or an RFC 3339 time, like "
                     "2026-12-06T00:00:00Z"),
        name);
  }
  timestamp.set_seconds(absl::ToUnixSeconds(time));
  return timestamp;
}

// The report `query` asks for; INVALID_ARGUMENT naming the parameter.
absl::StatusOr<sluice::v1::ReportQuery> ParseReportQuery(
    absl::string_view query) {
  sluice::v1::ReportQuery report;
  for (const char* name : {"start", "end"}) {
    std::string value = QueryParam(query, name);
    if (value.empty()) continue;
    absl::StatusOr<google::protobuf::Timestamp> time =
        ParseTimeParam(name, value);
    if (!time.ok()) return time.status();
    *(std::string(name) == "start" ? report.mutable_start()
                                   : report.mutable_end()) = *time;
  }
  std::string granularity =
      absl::AsciiStrToLower(QueryParam(query, "granularity"));
  if (granularity == "minute") {
    report.set_granularity(sluice::v1::GRANULARITY_MINUTE);
  } else if (granularity == "hour") {
    report.set_granularity(sluice::v1::GRANULARITY_HOUR);
  } else if (granularity == "day") {
    report.set_granularity(sluice::v1::GRANULARITY_DAY);
  } else if (!granularity.empty() && granularity != "total") {
    return status::InvalidRequest(
        "'granularity' must be minute, hour, day or total", "granularity");
  }
  for (absl::string_view name :
       absl::StrSplit(QueryParam(query, "group_by"), ',', absl::SkipEmpty())) {
    report.add_group_by(std::string(absl::StripAsciiWhitespace(name)));
  }
  report.set_model(QueryParam(query, "model"));
  report.set_provider(QueryParam(query, "provider"));
  report.set_key_id(QueryParam(query, "key_id"));
  return report;
}

bool AsksForReport(absl::string_view query) {
  for (const char* name : kReportParameters) {
    if (!QueryParam(query, name).empty()) return true;
  }
  return false;
}

// Metering's INVALID_ARGUMENT (an unknown group_by, say) is the client's.
absl::Status AsClientError(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return status;
  return status::InvalidRequest(std::string(status.message()), "group_by");
}

// {"object": `object`, `field`: <message as proto3 JSON>}.
void RespondWithMessage(http::ResponseWriter& writer,
                        const google::protobuf::Message& message,
                        absl::string_view object, absl::string_view field) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    RespondWithError(writer, absl::InternalError("it cannot be shown"), {});
    return;
  }
  writer.Respond(200, {{"content-type", "application/json"}},
                 absl::StrCat(R"({"object":")", object, R"(",")", field,
                              R"(":)", json, "}"));
}

}  // namespace

void UsageApi::AddRoutes(http::PathRouter& paths, const KeyLookups& lookups) {
  paths.Add("GET", "/v1/usage",
            lookups.WhenKeyKnown(
                [this](http::Request r, http::ResponseWriterPtr w) {
                  Usage(r, std::move(w));
                }));
  paths.AddPrefix("GET", kRequestsPrefix,
                  lookups.WhenKeyKnown(
                      [this](http::Request r, http::ResponseWriterPtr w) {
                        RequestUsage(r, std::move(w));
                      }));
}

std::optional<std::string> UsageApi::Viewer(
    const http::Request& request, http::ResponseWriter& writer) const {
  std::string asked = QueryParam(request.query, "tenant");
  if (admin_->Authorize(request).ok()) return asked;
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return std::nullopt;
  if (!asked.empty() && asked != caller->tenant) {
    RespondWithError(writer,
                     status::PermissionDenied(
                         "This key may only see its own tenant's usage."),
                     {});
    return std::nullopt;
  }
  return caller->tenant;
}

std::optional<UsageApi::Call> UsageApi::StartCall(
    const http::Request& request, http::ResponseWriter& writer) {
  std::optional<std::string> tenant = Viewer(request, writer);
  if (!tenant.has_value()) return std::nullopt;
  if (metering_ == nullptr) {
    RespondWithError(writer,
                     absl::UnavailableError("metering is not reachable"), {});
    return std::nullopt;
  }
  Call call;
  call.context = host::CallContext::Create(
      {absl::Now() + absl::Seconds(10), "", "", {*tenant, ""}});
  call.ticket =
      std::make_shared<host::CallTracker::Ticket>(calls_->Enter(call.context));
  if (!*call.ticket) {
    RespondWithError(
        writer, absl::UnavailableError("this gateway is shutting down"), {});
    return std::nullopt;
  }
  call.tenant = *std::move(tenant);
  return call;
}

void UsageApi::Usage(const http::Request& request,
                     http::ResponseWriterPtr writer) {
  std::optional<Call> call = StartCall(request, *writer);
  if (!call.has_value()) return;
  const std::string& tenant = call->tenant;
  auto ticket = call->ticket;
  host::CallContextPtr context = call->context;
  // A tenant's key without parameters: the running totals, as ever.
  if (!tenant.empty() && !AsksForReport(request.query)) {
    sluice::v1::UsageQuery query;
    query.set_tenant(tenant);
    metering_->GetUsage(
        std::move(context), std::move(query),
        [ticket, writer](absl::StatusOr<sluice::v1::UsageReport> report) {
          if (!report.ok()) {
            RespondWithError(*writer, report.status(), {});
            return;
          }
          writer->Respond(200, {{"content-type", "application/json"}},
                          TotalsJson(*report));
        });
    return;
  }
  absl::StatusOr<sluice::v1::ReportQuery> query =
      ParseReportQuery(request.query);
  if (!query.ok()) {
    RespondWithError(*writer, query.status(), {});
    return;
  }
  query->set_tenant(tenant);
  std::string format =
      absl::AsciiStrToLower(QueryParam(request.query, "format"));
  if (!format.empty() && format != "json" && format != "csv") {
    RespondWithError(
        *writer,
        status::InvalidRequest("'format' must be json or csv", "format"), {});
    return;
  }
  metering_->Report(
      std::move(context), *std::move(query),
      [ticket, writer, csv = format == "csv"](
          absl::StatusOr<sluice::v1::ReportResponse> report) {
        if (!report.ok()) {
          RespondWithError(*writer, AsClientError(report.status()), {});
          return;
        }
        if (csv) {
          writer->Respond(200,
                          {{"content-type", "text/csv; charset=utf-8"},
                           {"content-disposition",
                            "attachment; filename=\"sluice-usage.csv\""}},
                          ReportCsv(*report));
        } else {
          writer->Respond(200, {{"content-type", "application/json"}},
                          ReportJson(*report));
        }
      });
}

void UsageApi::RequestUsage(const http::Request& request,
                            http::ResponseWriterPtr writer) {
  std::optional<Call> call = StartCall(request, *writer);
  if (!call.has_value()) return;
  absl::string_view rest =
      absl::string_view(request.path).substr(sizeof(kRequestsPrefix) - 1);
  const bool trace = absl::ConsumeSuffix(&rest, "/trace");
  const std::string id(rest);
  if (id.empty() || id.find('/') != std::string::npos) {
    RespondWithError(*writer, status::NotFound("No such request."), {});
    return;
  }
  const std::string& tenant = call->tenant;
  auto ticket = call->ticket;
  host::CallContextPtr context = call->context;
  if (trace) {
    sluice::v1::TraceLookup lookup;
    lookup.set_request_id(id);
    lookup.set_tenant(tenant);
    metering_->GetTrace(
        std::move(context), std::move(lookup),
        [ticket, writer](absl::StatusOr<sluice::v1::Trace> trace) {
          if (!trace.ok()) {
            RespondWithError(*writer, trace.status(), {});
            return;
          }
          RespondWithMessage(*writer, *trace, "usage.trace", "trace");
        });
    return;
  }
  sluice::v1::RequestLookup lookup;
  lookup.set_request_id(id);
  lookup.set_tenant(tenant);
  metering_->GetRequest(
      std::move(context), std::move(lookup),
      [ticket, writer](absl::StatusOr<sluice::v1::UsageEvent> event) {
        if (!event.ok()) {
          RespondWithError(*writer, event.status(), {});
          return;
        }
        RespondWithMessage(*writer, *event, "usage.request", "event");
      });
}

}  // namespace sluice::ingress
