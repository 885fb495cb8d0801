// The Router component as hosted in this process: RouterCore's decisions
// executed by one RouteCall per request, every call tracked so that
// Drain() can wait for (or cancel) what is in flight.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "libs/host/call_tracker.h"
#include "services/adapters/adapters.h"
#include "services/cache/cache.h"
#include "services/router/router.h"
#include "services/router/router_core.h"
#include "sluice/v1/config.pb.h"

namespace sluice::router {

class RouterImpl final : public Router {
 public:
  // `config`, `adapters` and `cache` (null: no caching) must outlive this.
  static absl::StatusOr<std::unique_ptr<RouterImpl>> Create(
      const sluice::v1::Config& config, adapters::Adapters* adapters,
      cache::Cache* cache, RouterCoreOptions options = {});

  // Router
  void CountTokens(host::CallContextPtr context,
                   sluice::v1::TokenCountRequest request,
                   host::Callback<sluice::v1::TokenCountResponse> done) override;
  void Route(host::CallContextPtr context, sluice::v1::ChatRequest request,
             host::Callback<sluice::v1::ChatResponse> done) override;
  void StreamRoute(host::CallContextPtr context, sluice::v1::ChatRequest request,
                   host::Sink<sluice::v1::ChatChunk>* sink) override;

  void Drain(absl::Time deadline) { calls_.Drain(deadline); }
  RouterCore& core() { return *core_; }

 private:
  explicit RouterImpl(std::unique_ptr<RouterCore> core)
      : core_(std::move(core)) {}

  std::unique_ptr<RouterCore> core_;
  host::CallTracker calls_;
};

}  // namespace sluice::router
