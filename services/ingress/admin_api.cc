#include "services/ingress/admin_api.h"

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
#include "rapidjson/writer.h"
#include "services/ingress/http_errors.h"

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

void RespondJson(http::ResponseWriter& writer, const rapidjson::StringBuffer& body) {
  writer.Respond(200, {{"content-type", "application/json"}},
                 std::string(body.GetString(), body.GetSize()));
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
                   host::ChannelProvider* channels)
    : cache_(channels, "cache") {
  for (const std::string& hash : config.admin().api_key_sha256s()) {
    key_hashes_.insert(absl::AsciiStrToLower(hash));
  }
}

void AdminApi::AddRoutes(http::PathRouter& paths) {
  paths.Add("DELETE", "/admin/cache",
            [this](http::Request r, http::ResponseWriterPtr w) {
              InvalidateCache(r, std::move(w));
            });
  paths.Add("GET", "/admin/cache/stats",
            [this](http::Request r, http::ResponseWriterPtr w) {
              CacheStats(r, std::move(w));
            });
}

absl::Status AdminApi::Authorize(const http::Request& request) const {
  absl::string_view header = request.Header("authorization");
  if (!absl::StartsWithIgnoreCase(header, "bearer ")) {
    return status::Unauthenticated("An admin key is required (Authorization: Bearer ...).");
  }
  std::string hash = hash::Sha256Hex(absl::StripAsciiWhitespace(header.substr(7)));
  if (!key_hashes_.contains(hash)) {
    return status::PermissionDenied("This key may not use the admin API.");
  }
  return absl::OkStatus();
}

void AdminApi::InvalidateCache(const http::Request& request,
                               http::ResponseWriterPtr writer) {
  if (absl::Status allowed = Authorize(request); !allowed.ok()) {
    RespondWithError(*writer, allowed, {});
    return;
  }
  sluice::v1::Cache::Stub* cache = cache_.get();
  if (cache == nullptr) {
    RespondWithError(*writer, absl::UnavailableError("the cache is not reachable"), {});
    return;
  }
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    sluice::v1::CacheInvalidateRequest request;
    sluice::v1::CacheInvalidateResponse response;
  };
  auto call = std::make_shared<Call>();
  call->context = host::RootContext("", "", kAdminTimeout);
  call->request.set_tenant(QueryParam(request.query, "tenant"));
  call->request.set_model(QueryParam(request.query, "model"));
  cache->async()->Invalidate(
      call->context.get(), &call->request, &call->response,
      [call, writer](grpc::Status grpc_status) {
        if (!grpc_status.ok()) {
          RespondWithError(*writer, status::FromGrpcStatus(grpc_status), {});
          return;
        }
        rapidjson::StringBuffer buffer;
        JsonWriter json(buffer);
        json.StartObject();
        json.Key("object");
        json.String("cache.invalidation");
        json.Key("tenant");
        json.String(call->request.tenant().c_str());
        json.Key("model");
        json.String(call->request.model().c_str());
        json.Key("l1_entries");
        json.Int64(call->response.l1_entries());
        json.Key("l2_entries");
        json.Int64(call->response.l2_entries());
        json.EndObject();
        RespondJson(*writer, buffer);
      });
}

void AdminApi::CacheStats(const http::Request& request,
                          http::ResponseWriterPtr writer) {
  if (absl::Status allowed = Authorize(request); !allowed.ok()) {
    RespondWithError(*writer, allowed, {});
    return;
  }
  sluice::v1::Cache::Stub* cache = cache_.get();
  if (cache == nullptr) {
    RespondWithError(*writer, absl::UnavailableError("the cache is not reachable"), {});
    return;
  }
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    sluice::v1::CacheStatsRequest request;
    sluice::v1::CacheStatsResponse response;
  };
  auto call = std::make_shared<Call>();
  call->context = host::RootContext("", "", kAdminTimeout);
  call->request.set_tenant(QueryParam(request.query, "tenant"));
  cache->async()->Stats(
      call->context.get(), &call->request, &call->response,
      [call, writer](grpc::Status grpc_status) {
        if (!grpc_status.ok()) {
          RespondWithError(*writer, status::FromGrpcStatus(grpc_status), {});
          return;
        }
        rapidjson::StringBuffer buffer;
        JsonWriter json(buffer);
        json.StartObject();
        json.Key("object");
        json.String("list");
        json.Key("l2_connected");
        json.Bool(call->response.l2_connected());
        json.Key("data");
        json.StartArray();
        for (const sluice::v1::CacheTenantStats& s : call->response.tenants()) {
          json.StartObject();
          json.Key("tenant");
          json.String(s.tenant().c_str());
          json.Key("hits");
          json.Int64(s.hits());
          json.Key("misses");
          json.Int64(s.misses());
          json.Key("shared");
          json.Int64(s.shared());
          json.Key("bytes");
          json.Int64(s.bytes());
          json.Key("entries");
          json.Int64(s.entries());
          json.Key("evictions");
          json.Int64(s.evictions());
          json.EndObject();
        }
        json.EndArray();
        json.EndObject();
        RespondJson(*writer, buffer);
      });
}

}  // namespace sluice::ingress
