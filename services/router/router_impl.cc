#include "services/router/router_impl.h"

#include <utility>

#include "services/router/route_call.h"

namespace sluice::router {
namespace {

absl::Status Stopping() {
  return absl::UnavailableError("the router is shutting down");
}

}  // namespace

absl::StatusOr<std::unique_ptr<RouterImpl>> RouterImpl::Create(
    const sluice::v1::Config& config, adapters::Adapters* adapters,
    cache::Cache* cache, RouterCoreOptions options) {
  absl::StatusOr<std::unique_ptr<RouterCore>> core =
      RouterCore::Create(config, adapters, cache, std::move(options));
  if (!core.ok()) return core.status();
  return std::unique_ptr<RouterImpl>(new RouterImpl(*std::move(core)));
}

void RouterImpl::CountTokens(
    host::CallContextPtr context, sluice::v1::TokenCountRequest request,
    host::Callback<sluice::v1::TokenCountResponse> done) {
  // Counted on a counting thread, not this RPC callback thread; an exact
  // count has no cheaper fallback, so a full queue is "retry later".
  struct Job {
    sluice::v1::TokenCountRequest request;
    host::Callback<sluice::v1::TokenCountResponse> done;
  };
  auto job = std::make_shared<Job>(Job{std::move(request), std::move(done)});
  RouterCore* core = core_.get();
  if (!core->counting().TrySubmit([core, job] {
        std::move(job->done)(core->CountTokens(job->request.request()));
      })) {
    std::move(job->done)(
        absl::UnavailableError("every token counter is busy; retry shortly"));
  }
}

void RouterImpl::Route(host::CallContextPtr context,
                       sluice::v1::ChatRequest request,
                       host::Callback<sluice::v1::ChatResponse> done) {
  host::CallTracker::Ticket ticket = calls_.Enter(context);
  if (!ticket) return std::move(done)(Stopping());
  RouteCall::Unary(core_.get(), std::move(ticket), std::move(context),
                   std::move(request), std::move(done));
}

void RouterImpl::StreamRoute(host::CallContextPtr context,
                             sluice::v1::ChatRequest request,
                             host::Sink<sluice::v1::ChatChunk>* sink) {
  host::CallTracker::Ticket ticket = calls_.Enter(context);
  if (!ticket) return sink->Done(Stopping());
  RouteCall::Stream(core_.get(), std::move(ticket), std::move(context),
                    std::move(request), sink);
}

}  // namespace sluice::router
