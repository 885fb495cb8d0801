#include "services/ingress/http_api.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

#include "libs/obs/metrics.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "libs/status/errors.h"
#include "services/ingress/http_errors.h"

namespace sluice::ingress {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void RespondJson(http::ResponseWriter& writer, const rapidjson::StringBuffer& body) {
  writer.Respond(200, {{"content-type", "application/json"}},
                 std::string(body.GetString(), body.GetSize()));
}

std::string UsageJson(const sluice::v1::UsageReport& report) {
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
    json.Key("requests");
    json.Int64(total.requests());
    json.Key("errors");
    json.Int64(total.errors());
    json.Key("prompt_tokens");
    json.Int64(total.prompt_tokens());
    json.Key("completion_tokens");
    json.Int64(total.completion_tokens());
    json.Key("cached_tokens");
    json.Int64(total.cached_tokens());
    json.Key("reasoning_tokens");
    json.Int64(total.reasoning_tokens());
    json.Key("total_tokens");
    json.Int64(total.total_tokens());
    json.Key("price_micro_usd");
    json.Int64(total.price_micro_usd());
    json.Key("upstream_cost_micro_usd");
    json.Int64(total.upstream_cost_micro_usd());
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

HttpApi::HttpApi(const sluice::v1::Config& config, Parts parts,
                 std::vector<std::string> models,
                 std::function<absl::Status()> ready)
    : auth_(&parts.edge->admission().auth()),
      models_(std::move(models)),
      chat_(parts.edge, parts.usage),
      token_count_(auth_, parts.router, parts.calls),
      admin_(config, parts.cache, parts.keys),
      metering_(parts.metering),
      calls_(parts.calls),
      jobs_(parts.jobs) {
  paths_.Add("POST", "/v1/chat/completions",
             [this](http::Request r, http::ResponseWriterPtr w) {
               chat_.Handle(std::move(r), std::move(w));
             });
  admin_.AddRoutes(paths_);
  if (parts.batch_store != nullptr) {
    batches_.emplace(config, auth_, &admin_, parts.batch_store, parts.batches,
                     parts.clock, parts.manual_clock);
    batches_->AddRoutes(paths_);
  }
  paths_.Add("POST", "/v1/token-count",
             [this](http::Request r, http::ResponseWriterPtr w) {
               token_count_.Handle(std::move(r), std::move(w));
             });
  paths_.Add("GET", "/v1/models",
             [this](http::Request r, http::ResponseWriterPtr w) {
               Models(r, *w);
             });
  paths_.Add("GET", "/v1/usage",
             [this](http::Request r, http::ResponseWriterPtr w) {
               Usage(r, std::move(w));
             });
  paths_.AddPrefix("GET", "/v1/jobs/",
                   [this](http::Request r, http::ResponseWriterPtr w) {
                     JobResult(r, *w);
                   });
  auto ok = [](http::Request, http::ResponseWriterPtr w) {
    w->Respond(200, {{"content-type", "application/json"}},
               R"({"status":"ok"})");
  };
  paths_.Add("GET", "/health", ok);
  // For load balancers: 503 while this replica cannot serve, saying why.
  paths_.Add("GET", "/ready",
             [ready = std::move(ready)](http::Request,
                                        http::ResponseWriterPtr w) {
               absl::Status status = ready();
               if (status.ok()) {
                 w->Respond(200, {{"content-type", "application/json"}},
                            R"({"status":"ready"})");
                 return;
               }
               RespondWithError(*w, status, {});
             });
  paths_.Add("GET", "/metrics", [](http::Request, http::ResponseWriterPtr w) {
    w->Respond(200, {{"content-type", "text/plain; version=0.0.4"}},
               obs::MetricsRegistry::Default().RenderPrometheusText());
  });
}

void HttpApi::Models(const http::Request& request,
                     http::ResponseWriter& writer) const {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  json.Key("object");
  json.String("list");
  json.Key("data");
  json.StartArray();
  for (const std::string& model : models_) {
    if (!caller->MayUse(model)) continue;
    json.StartObject();
    json.Key("id");
    json.String(model.c_str());
    json.Key("object");
    json.String("model");
    json.Key("created");
    json.Int64(0);
    json.Key("owned_by");
    json.String("sluice");
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  RespondJson(writer, buffer);
}

// Totals for the caller's tenant, from the metering service.
void HttpApi::JobResult(const http::Request& request,
                        http::ResponseWriter& writer) const {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  if (jobs_ == nullptr) {
    RespondWithError(writer, absl::UnavailableError("async jobs are disabled"), {});
    return;
  }
  std::string custom_id = request.path.substr(std::string("/v1/jobs/").size());
  absl::StatusOr<std::string> line = jobs_->FinishedResult(caller->tenant, custom_id);
  if (!line.ok()) {
    RespondWithError(writer, line.status(), {});
    return;
  }
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  json.Key("object");
  json.String("job");
  json.Key("custom_id");
  json.String(custom_id.data(), static_cast<rapidjson::SizeType>(custom_id.size()));
  json.Key("status");
  json.String("completed");
  json.Key("result");
  json.RawValue(line->data(), line->size(), rapidjson::kObjectType);
  json.EndObject();
  writer.Respond(200, {{"content-type", "application/json"}},
                 std::string(buffer.GetString(), buffer.GetSize()));
}

void HttpApi::Usage(const http::Request& request,
                    http::ResponseWriterPtr writer) {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, *writer);
  if (!caller.has_value()) return;
  if (metering_ == nullptr) {
    RespondWithError(*writer,
                     absl::UnavailableError("metering is not reachable"), {});
    return;
  }
  host::CallContextPtr context = host::CallContext::Create(
      {absl::Now() + absl::Seconds(10), "", "", {caller->tenant, caller->key_id}});
  auto ticket = std::make_shared<host::CallTracker::Ticket>(
      calls_->Enter(context));
  if (!*ticket) {
    RespondWithError(
        *writer, absl::UnavailableError("this gateway is shutting down"), {});
    return;
  }
  sluice::v1::UsageQuery query;
  query.set_tenant(caller->tenant);
  metering_->GetUsage(
      std::move(context), std::move(query),
      [ticket, writer](absl::StatusOr<sluice::v1::UsageReport> report) {
        if (!report.ok()) {
          RespondWithError(*writer, report.status(), {});
          return;
        }
        writer->Respond(200, {{"content-type", "application/json"}},
                        UsageJson(*report));
      });
}

}  // namespace sluice::ingress
