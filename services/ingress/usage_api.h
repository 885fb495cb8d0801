// Usage reports over HTTP, answered by metering:
//   GET /v1/usage                   the caller's tenant's running totals per
//                                   model (the answer since the first
//                                   release), or, with any of the
//                                   parameters below, a report
//   GET /v1/usage?start=&end=&granularity=minute|hour|day&group_by=tenant,
//       key,model,provider&model=&provider=&key_id=&format=json|csv
//                                   aggregates with latency percentiles;
//                                   times as Unix seconds or RFC 3339
//   GET /v1/usage/requests/{id}     one request's usage event
//   GET /v1/usage/requests/{id}/trace
//                                   the spans metering kept of it
// A tenant's key sees its own tenant only (naming another is 403); the
// admin key sees every tenant, or the one `tenant=` names.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "libs/host/call_tracker.h"
#include "libs/http/path_router.h"
#include "libs/http/server.h"
#include "services/ingress/admin_api.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/key_lookups.h"
#include "services/metering/metering.h"

namespace sluice::ingress {

class UsageApi {
 public:
  // All must outlive this; `metering` may be null (the routes answer 503).
  UsageApi(const ApiKeyAuth* auth, const AdminApi* admin,
           metering::Metering* metering, host::CallTracker* calls)
      : auth_(auth), admin_(admin), metering_(metering), calls_(calls) {}

  // Adds the routes to `paths`; this must outlive it.
  // Routes whose key is not in memory are answered from a lookup thread.
  void AddRoutes(http::PathRouter& paths, const KeyLookups& lookups);

 private:
  // Who asks: the tenant whose figures it may see (empty: every tenant,
  // the admin key), or nullopt after answering the error.
  std::optional<std::string> Viewer(const http::Request& request,
                                    http::ResponseWriter& writer) const;
  // A metering call on behalf of the request's viewer: the tenant it may
  // see, the call's context and its ticket (a stopping gateway waits for
  // it); nullopt after answering why not (bad key, another tenant, no
  // metering, shutting down).
  struct Call {
    std::string tenant;
    host::CallContextPtr context;
    std::shared_ptr<host::CallTracker::Ticket> ticket;
  };
  std::optional<Call> StartCall(const http::Request& request,
                                http::ResponseWriter& writer);
  void Usage(const http::Request& request, http::ResponseWriterPtr writer);
  void RequestUsage(const http::Request& request,
                    http::ResponseWriterPtr writer);

  const ApiKeyAuth* auth_;
  const AdminApi* admin_;
  metering::Metering* metering_;
  host::CallTracker* calls_;
};

}  // namespace sluice::ingress
