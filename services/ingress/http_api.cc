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
#include "services/ingress/key_lookups.h"
#include "services/metering/console/console_routes.h"

namespace sluice::ingress {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void RespondJson(http::ResponseWriter& writer, const rapidjson::StringBuffer& body) {
  writer.Respond(200, {{"content-type", "application/json"}},
                 std::string(body.GetString(), body.GetSize()));
}

}  // namespace

HttpApi::HttpApi(const sluice::v1::Config& config, Parts parts,
                 std::vector<std::string> models,
                 std::function<absl::Status()> ready)
    : auth_(&parts.edge->admission().auth()),
      models_(std::move(models)),
      chat_(parts.edge, parts.usage),
      token_count_(auth_, parts.gate, parts.router, parts.usage, parts.calls),
      admin_(config, parts.cache, parts.keys),
      usage_(auth_, &admin_, parts.metering, parts.calls),
      jobs_(parts.jobs) {
  paths_.Add("POST", "/v1/chat/completions",
             [this](http::Request r, http::ResponseWriterPtr w) {
               chat_.Handle(std::move(r), std::move(w));
             });
  const KeyLookups& lookups = parts.edge->admission().lookups();
  admin_.AddRoutes(paths_, lookups);
  if (parts.batch_store != nullptr) {
    batches_.emplace(config, auth_, &admin_, parts.batch_store, parts.batches,
                     parts.clock, parts.manual_clock);
    batches_->AddRoutes(paths_);
  }
  // Each authenticates its caller: from a lookup thread when the key is
  // not in memory.
  paths_.Add("POST", "/v1/token-count",
             lookups.WhenKeyKnown(
                 [this](http::Request r, http::ResponseWriterPtr w) {
                   token_count_.Handle(std::move(r), std::move(w));
                 }));
  paths_.Add("GET", "/v1/models",
             lookups.WhenKeyKnown(
                 [this](http::Request r, http::ResponseWriterPtr w) {
                   Models(r, *w);
                 }));
  usage_.AddRoutes(paths_, lookups);
  paths_.AddPrefix("GET", "/v1/jobs/",
                   lookups.WhenKeyKnown(
                       [this](http::Request r, http::ResponseWriterPtr w) {
                         JobResult(r, *w);
                       }));
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
  // Metering's operator console, on the gateway's own port: its page reads
  // the usage API above with the admin key.
  console::AddConsoleRoutes(paths_);
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


}  // namespace sluice::ingress
