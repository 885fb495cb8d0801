#include "services/ingress/key_json.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/codec/json_util.h"
#include "libs/status/errors.h"

namespace sluice::ingress {
namespace {

using codec::internal::JsonWriter;
using codec::internal::Key;
using codec::internal::String;
using codec::internal::View;

absl::Status TypeError(const char* field, const char* expected) {
  return status::InvalidRequest(
      absl::StrCat("'", field, "' must be ", expected, "."), field);
}

absl::StatusOr<int64_t> Integer(const rapidjson::Value& value,
                                const char* field) {
  if (!value.IsInt64()) return TypeError(field, "an integer");
  return value.GetInt64();
}

void WriteRecord(JsonWriter& json, const keystore::KeyRecord& record,
                 absl::string_view secret) {
  json.StartObject();
  Key(json, "object");
  String(json, "api_key");
  Key(json, "id");
  String(json, record.id);
  if (!secret.empty()) {
    Key(json, "key");
    String(json, secret);
  }
  Key(json, "tenant");
  String(json, record.tenant);
  Key(json, "name");
  String(json, record.name);
  Key(json, "last4");
  String(json, record.last4);
  Key(json, "models");
  json.StartArray();
  for (const std::string& model : record.policy.models) String(json, model);
  json.EndArray();
  Key(json, "rpm");
  json.Int64(record.policy.rpm);
  Key(json, "tpm");
  json.Int64(record.policy.tpm);
  Key(json, "budget_usd");
  json.Double(static_cast<double>(record.policy.budget_micro_usd) / 1e6);
  Key(json, "priority");
  json.Int(record.policy.priority);
  Key(json, "cache");
  String(json, record.policy.cache);
  Key(json, "created");
  json.Int64(absl::ToUnixSeconds(record.created));
  Key(json, "revoked");
  if (record.revoked.has_value()) {
    json.Int64(absl::ToUnixSeconds(*record.revoked));
  } else {
    json.Null();
  }
  json.EndObject();
}

}  // namespace

absl::StatusOr<int64_t> BudgetMicroUsd(double usd) {
  // Kept in micro-USD in 64 bits: a trillion dollars is plenty.
  if (!(usd >= 0) || usd > 1e12) {
    return status::InvalidRequest(
        "'budget_usd' must be a number of USD from 0 to 1e12.", "budget_usd");
  }
  return std::llround(usd * 1e6);
}

absl::StatusOr<NewKeyRequest> ParseNewKeyRequest(absl::string_view body) {
  rapidjson::Document doc;
  doc.Parse<codec::internal::kUntrustedParseFlags>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return status::InvalidRequest("The body must be a JSON object.");
  }
  NewKeyRequest request;
  for (const auto& member : doc.GetObject()) {
    absl::string_view name = View(member.name);
    const rapidjson::Value& value = member.value;
    if (name == "tenant" || name == "name" || name == "cache") {
      if (!value.IsString()) {
        return TypeError(name == "tenant" ? "tenant"
                         : name == "name" ? "name"
                                          : "cache",
                         "a string");
      }
      std::string text(View(value));
      if (name == "tenant") request.tenant = text;
      if (name == "name") request.name = text;
      if (name == "cache") request.policy.cache = text;
    } else if (name == "models") {
      if (!value.IsArray()) return TypeError("models", "an array of strings");
      for (const auto& model : value.GetArray()) {
        if (!model.IsString() || model.GetStringLength() == 0) {
          return TypeError("models", "an array of model names");
        }
        request.policy.models.emplace_back(View(model));
      }
    } else if (name == "rpm" || name == "tpm") {
      absl::StatusOr<int64_t> n =
          Integer(value, name == "rpm" ? "rpm" : "tpm");
      if (!n.ok()) return n.status();
      (name == "rpm" ? request.policy.rpm : request.policy.tpm) = *n;
    } else if (name == "budget_usd") {
      if (!value.IsNumber()) return TypeError("budget_usd", "a number");
      absl::StatusOr<int64_t> budget = BudgetMicroUsd(value.GetDouble());
      if (!budget.ok()) return budget.status();
      request.policy.budget_micro_usd = *budget;
    } else if (name == "priority") {
      if (!value.IsInt()) return TypeError("priority", "an integer");
      request.policy.priority = value.GetInt();
    }
    // Other fields are ignored, as OpenAI's API does.
  }
  if (request.tenant.empty()) {
    return status::InvalidRequest("Missing required parameter: 'tenant'.",
                                  "tenant");
  }
  return request;
}

absl::Status CheckNewKeyRequest(const NewKeyRequest& request,
                                const sluice::v1::Config& config) {
  bool tenant_known = false;
  for (const auto& tenant : config.tenants()) {
    tenant_known = tenant_known || tenant.name() == request.tenant;
  }
  if (!tenant_known) {
    return status::InvalidRequest(
        absl::StrCat("Unknown tenant '", request.tenant,
                     "': tenants are configured in the config's `tenants`."),
        "tenant");
  }
  for (const std::string& model : request.policy.models) {
    bool known = false;
    for (const auto& route : config.routes()) {
      known = known || route.model() == model;
    }
    for (const auto& alias : config.router().aliases()) {
      known = known || alias.alias() == model;
    }
    if (!known) {
      return status::InvalidRequest(
          absl::StrCat("Unknown model '", model,
                       "': a key may name models of the route table."),
          "models");
    }
  }
  if (request.policy.rpm < 0 || request.policy.tpm < 0) {
    return status::InvalidRequest(
        "'rpm' and 'tpm' must not be negative (0: no limit).",
        request.policy.rpm < 0 ? "rpm" : "tpm");
  }
  const std::string& cache = request.policy.cache;
  if (!cache.empty() && cache != "bypass" && cache != "refresh") {
    return status::InvalidRequest(
        "'cache' must be empty, \"bypass\" or \"refresh\".", "cache");
  }
  return absl::OkStatus();
}

std::string KeyJson(const keystore::KeyRecord& record,
                    absl::string_view secret) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  WriteRecord(json, record, secret);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string RevokedKeyJson(absl::string_view id) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  Key(json, "object");
  String(json, "api_key.revoked");
  Key(json, "id");
  String(json, id);
  Key(json, "revoked");
  json.Bool(true);
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string KeyListJson(const std::vector<keystore::KeyRecord>& records) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  Key(json, "object");
  String(json, "list");
  Key(json, "data");
  json.StartArray();
  for (const keystore::KeyRecord& record : records) {
    WriteRecord(json, record, {});
  }
  json.EndArray();
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::ingress
