// Operators' API under /admin, guarded by an admin key (config `admin`):
//   DELETE /admin/cache?tenant=T&model=M  drops cached answers (either or
//                                         both filters may be left out)
//   GET    /admin/cache/stats[?tenant=T]  hits, misses, shared, bytes,
//                                         entries, evictions per tenant
//   POST   /admin/keys                    creates a virtual key (201; the
//                                         only answer that shows its secret)
//   GET    /admin/keys[?tenant=T]         lists keys (revoked ones too)
//   DELETE /admin/keys/{id}               revokes a key (every replica stops
//                                         taking it within the refresh)
#pragma once

#include <string>

#include "absl/container/flat_hash_set.h"
#include "libs/keystore/key_store.h"
#include "libs/http/path_router.h"
#include "libs/http/server.h"
#include "services/cache/cache.h"
#include "services/ingress/key_lookups.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

class AdminApi {
 public:
  // `keys` may be null (the /admin/keys routes then answer 503), `cache`
  // too (the /admin/cache routes then answer 503).
  AdminApi(const sluice::v1::Config& config, cache::Cache* cache,
           keystore::KeyStore* keys);

  // Adds the /admin routes to `paths`; this must outlive it.
  // The key routes (database calls) are answered from a lookup thread.
  void AddRoutes(http::PathRouter& paths, const KeyLookups& lookups);

  // PERMISSION_DENIED / UNAUTHENTICATED unless the request bears an admin
  // key.
  absl::Status Authorize(const http::Request& request) const;

 private:
  // Authorize, and a key store to work on.
  absl::Status AuthorizeKeys(const http::Request& request) const;
  // Authorizes, makes one unary Cache call (`start` issues it on the
  // component) and answers with `to_json` of its result.
  template <typename Response, typename Request, typename StartFn>
  void CallCache(const http::Request& http_request,
                 http::ResponseWriterPtr writer, Request request,
                 StartFn start,
                 std::string (*to_json)(const Request&, const Response&));

  void CreateKey(const http::Request& request, http::ResponseWriter& writer);
  void ListKeys(const http::Request& request, http::ResponseWriter& writer);
  void RevokeKey(const http::Request& request, http::ResponseWriter& writer);

  const sluice::v1::Config config_;
  keystore::KeyStore* keys_;
  absl::flat_hash_set<std::string> key_hashes_;
  cache::Cache* cache_;
};

// The value of `name` in a URL query ("a=1&b=x%20y"), percent-decoded; empty
// when absent.
std::string QueryParam(absl::string_view query, absl::string_view name);

}  // namespace sluice::ingress
