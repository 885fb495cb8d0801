#include "services/ingress/http_api.h"

#include <memory>

#include "libs/host/call_context.h"
#include "libs/obs/metrics.h"
#include "libs/status/grpc_status.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
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
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

HttpApi::HttpApi(const sluice::v1::Config& config, ChatAdmission* admission,
                 keystore::KeyStore* keys, host::ChannelProvider* channels,
                 UsageReporter* usage, std::vector<std::string> models,
                 std::function<absl::Status()> ready)
    : auth_(&admission->auth()),
      models_(std::move(models)),
      chat_(admission, channels, usage),
      token_count_(auth_, channels),
      admin_(config, channels, keys),
      metering_(channels, "metering") {
  paths_.Add("POST", "/v1/chat/completions",
             [this](http::Request r, http::ResponseWriterPtr w) {
               chat_.Handle(std::move(r), std::move(w));
             });
  admin_.AddRoutes(paths_);
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
  absl::StatusOr<Caller> caller =
      auth_->Authenticate(request.Header("authorization"));
  if (!caller.ok()) {
    RespondWithError(writer, caller.status(), {});
    return;
  }
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
void HttpApi::Usage(const http::Request& request,
                    http::ResponseWriterPtr writer) {
  absl::StatusOr<Caller> caller =
      auth_->Authenticate(request.Header("authorization"));
  if (!caller.ok()) {
    RespondWithError(*writer, caller.status(), {});
    return;
  }
  sluice::v1::Metering::Stub* metering = metering_.get();
  if (metering == nullptr) {
    RespondWithError(*writer,
                     absl::UnavailableError("metering is not reachable"), {});
    return;
  }
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    sluice::v1::UsageQuery query;
    sluice::v1::UsageReport report;
  };
  auto call = std::make_shared<Call>();
  call->context = host::RootContext("", "", absl::Seconds(10));
  call->query.set_tenant(caller->tenant);
  metering->async()->GetUsage(
      call->context.get(), &call->query, &call->report,
      [call, writer](grpc::Status grpc_status) {
        if (!grpc_status.ok()) {
          RespondWithError(*writer, status::FromGrpcStatus(grpc_status), {});
          return;
        }
        writer->Respond(200, {{"content-type", "application/json"}},
                        UsageJson(call->report));
      });
}

}  // namespace sluice::ingress
