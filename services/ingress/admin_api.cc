#include "services/ingress/admin_api.h"

#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libs/hash/sha256.h"
#include "libs/host/call_context.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "rapidjson/stringbuffer.h"
#include "spdlog/spdlog.h"
#include "rapidjson/writer.h"
#include "services/ingress/http_errors.h"
#include "services/ingress/key_json.h"

namespace sluice::ingress {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr absl::Duration kAdminTimeout = absl::Seconds(30);

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() &&
               HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 +
                                      HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string InvalidationJson(const sluice::v1::CacheInvalidateRequest& request,
                             const sluice::v1::CacheInvalidateResponse& response) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  json.Key("object");
  json.String("cache.invalidation");
  json.Key("tenant");
  json.String(request.tenant().c_str());
  json.Key("model");
  json.String(request.model().c_str());
  json.Key("l1_entries");
  json.Int64(response.l1_entries());
  json.Key("l2_entries");
  json.Int64(response.l2_entries());
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string StatsJson(const sluice::v1::CacheStatsRequest&,
                      const sluice::v1::CacheStatsResponse& response) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  json.Key("object");
  json.String("list");
  json.Key("l2_connected");
  json.Bool(response.l2_connected());
  json.Key("data");
  json.StartArray();
  for (const sluice::v1::CacheTenantStats& s : response.tenants()) {
    json.StartObject();
    json.Key("tenant");
    json.String(s.tenant().c_str());
    for (const auto& [name, value] :
         {std::pair<const char*, int64_t>{"hits", s.hits()},
          {"misses", s.misses()},
          {"shared", s.shared()},
          {"bytes", s.bytes()},
          {"entries", s.entries()},
          {"evictions", s.evictions()}}) {
      json.Key(name);
      json.Int64(value);
    }
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Store errors as answers: the database's own become 503 without their
// details.
absl::Status StoreError(const absl::Status& status) {
  // The client's own mistakes, in our words, pass as they are; the rest
  // (the database's errors, with its messages) are logged and hidden.
  if (absl::IsInvalidArgument(status) || absl::IsNotFound(status) ||
      absl::IsPermissionDenied(status) || absl::IsUnauthenticated(status)) {
    return status;
  }
  spdlog::error("admin: key store: {}",
                status::RedactSecrets(status.ToString()));
  return absl::UnavailableError("the key store failed; see the logs");
}

// Answers with `status` as an OpenAI error.
void Reject(http::ResponseWriter& writer, const absl::Status& status) {
  RespondWithError(writer, status, {});
}

}  // namespace

std::string QueryParam(absl::string_view query, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (PercentDecode(kv.first) == name) return PercentDecode(kv.second);
  }
  return "";
}

AdminApi::AdminApi(const sluice::v1::Config& config,
                   cache::Cache* cache, keystore::KeyStore* keys)
    : config_(config), keys_(keys), cache_(cache) {
  for (const std::string& hash : config.admin().api_key_sha256s()) {
    key_hashes_.insert(absl::AsciiStrToLower(hash));
  }
}

void AdminApi::AddRoutes(http::PathRouter& paths, const KeyLookups& lookups) {
  paths.Add("DELETE", "/admin/cache",
            [this](http::Request r, http::ResponseWriterPtr w) {
              sluice::v1::CacheInvalidateRequest request;
              request.set_tenant(QueryParam(r.query, "tenant"));
              request.set_model(QueryParam(r.query, "model"));
              CallCache<sluice::v1::CacheInvalidateResponse>(
                  r, std::move(w), std::move(request),
                  [](cache::Cache* cache, host::CallContextPtr context,
                     auto request, auto done) {
                    cache->Invalidate(std::move(context), std::move(request),
                                      std::move(done));
                  },
                  &InvalidationJson);
            });
  paths.Add("GET", "/admin/cache/stats",
            [this](http::Request r, http::ResponseWriterPtr w) {
              sluice::v1::CacheStatsRequest request;
              request.set_tenant(QueryParam(r.query, "tenant"));
              CallCache<sluice::v1::CacheStatsResponse>(
                  r, std::move(w), std::move(request),
                  [](cache::Cache* cache, host::CallContextPtr context,
                     auto request, auto done) {
                    cache->Stats(std::move(context), std::move(request),
                                 std::move(done));
                  },
                  &StatsJson);
            });
  // The key store asks its database (milliseconds, or as long as a hung
  // one takes to time out): off the I/O threads.
  paths.Add("POST", "/admin/keys",
            lookups.OffIo([this](http::Request r, http::ResponseWriterPtr w) {
              CreateKey(r, *w);
            }));
  paths.Add("GET", "/admin/keys",
            lookups.OffIo([this](http::Request r, http::ResponseWriterPtr w) {
              ListKeys(r, *w);
            }));
  paths.AddPrefix(
      "DELETE", "/admin/keys/",
      lookups.OffIo([this](http::Request r, http::ResponseWriterPtr w) {
        RevokeKey(r, *w);
      }));
}

absl::Status AdminApi::AuthorizeKeys(const http::Request& request) const {
  if (absl::Status allowed = Authorize(request); !allowed.ok()) return allowed;
  if (keys_ == nullptr) {
    return absl::UnavailableError("no key store is configured");
  }
  return absl::OkStatus();
}

void AdminApi::CreateKey(const http::Request& request,
                         http::ResponseWriter& writer) {
  if (absl::Status allowed = AuthorizeKeys(request); !allowed.ok()) {
    return Reject(writer, allowed);
  }
  absl::StatusOr<NewKeyRequest> asked = ParseNewKeyRequest(request.body);
  if (!asked.ok()) return Reject(writer, asked.status());
  if (absl::Status valid = CheckNewKeyRequest(*asked, config_); !valid.ok()) {
    return Reject(writer, valid);
  }
  absl::StatusOr<keystore::NewKey> key =
      keys_->Create(asked->tenant, asked->name, asked->policy);
  if (!key.ok()) return Reject(writer, StoreError(key.status()));
  writer.Respond(201, {{"content-type", "application/json"}},
                 KeyJson(key->record, key->secret));
}

void AdminApi::ListKeys(const http::Request& request,
                        http::ResponseWriter& writer) {
  if (absl::Status allowed = AuthorizeKeys(request); !allowed.ok()) {
    return Reject(writer, allowed);
  }
  absl::StatusOr<std::vector<keystore::KeyRecord>> keys =
      keys_->List(QueryParam(request.query, "tenant"));
  if (!keys.ok()) return Reject(writer, StoreError(keys.status()));
  writer.Respond(200, {{"content-type", "application/json"}},
                 KeyListJson(*keys));
}

void AdminApi::RevokeKey(const http::Request& request,
                         http::ResponseWriter& writer) {
  if (absl::Status allowed = AuthorizeKeys(request); !allowed.ok()) {
    return Reject(writer, allowed);
  }
  std::string id = PercentDecode(
      absl::string_view(request.path).substr(std::strlen("/admin/keys/")));
  absl::Status revoked = keys_->Revoke(id);
  if (absl::IsNotFound(revoked)) {
    return Reject(writer, status::NotFound(absl::StrCat("No key with id '",
                                                        id, "'."),
                                           "id", "key_not_found"));
  }
  if (!revoked.ok()) return Reject(writer, StoreError(revoked));
  writer.Respond(200, {{"content-type", "application/json"}},
                 RevokedKeyJson(id));
}

absl::Status AdminApi::Authorize(const http::Request& request) const {
  absl::string_view header = request.Header("authorization");
  if (!absl::StartsWithIgnoreCase(header, "bearer ")) {
    return status::Unauthenticated(
        "An admin key is required (Authorization: Bearer ...).");
  }
  std::string hash =
      hash::Sha256Hex(absl::StripAsciiWhitespace(header.substr(7)));
  if (!key_hashes_.contains(hash)) {
    return status::PermissionDenied("This key may not use the admin API.");
  }
  return absl::OkStatus();
}

template <typename Response, typename Request, typename StartFn>
void AdminApi::CallCache(
    const http::Request& http_request, http::ResponseWriterPtr writer,
    Request request, StartFn start,
    std::string (*to_json)(const Request&, const Response&)) {
  if (absl::Status allowed = Authorize(http_request); !allowed.ok()) {
    RespondWithError(*writer, allowed, {});
    return;
  }
  if (cache_ == nullptr) {
    RespondWithError(*writer,
                     absl::UnavailableError("the cache is not reachable"), {});
    return;
  }
  auto asked = std::make_shared<Request>(request);
  start(cache_,
        host::CallContext::Create({absl::Now() + kAdminTimeout, "", "", {}}),
        std::move(request),
        host::Callback<Response>(
            [asked, writer, to_json](absl::StatusOr<Response> result) {
              if (!result.ok()) {
                RespondWithError(*writer, result.status(), {});
                return;
              }
              writer->Respond(200, {{"content-type", "application/json"}},
                              to_json(*asked, *result));
            }));
}

}  // namespace sluice::ingress
