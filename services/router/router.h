// The Router component: classifies a request, plans its candidates and
// executes the plan (cache, retries, fallbacks, breakers). Co-hosted
// callers hold the implementation (router_impl.h), others a gRPC client
// (router_client.h).
#pragma once

#include "libs/host/call_context.h"
#include "libs/host/sink.h"
#include "sluice/v1/router.pb.h"

namespace sluice::router {

inline constexpr char kServiceName[] = "router";

class Router {
 public:
  virtual ~Router() = default;
  virtual void CountTokens(
      host::CallContextPtr context, sluice::v1::TokenCountRequest request,
      host::Callback<sluice::v1::TokenCountResponse> done) = 0;
  // The answer carries its route and decision (priced).
  virtual void Route(host::CallContextPtr context,
                     sluice::v1::ChatRequest request,
                     host::Callback<sluice::v1::ChatResponse> done) = 0;
  // The first chunk carries the decision so far; the usage chunk (always
  // sent, last) the final one. After the first byte a failure ends the
  // stream with a chunk whose finish_reason is "error" and the error
  // status. `sink` must stay alive until its Done().
  virtual void StreamRoute(host::CallContextPtr context,
                           sluice::v1::ChatRequest request,
                           host::Sink<sluice::v1::ChatChunk>* sink) = 0;
};

}  // namespace sluice::router
