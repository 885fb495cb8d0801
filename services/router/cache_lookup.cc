#include "services/router/cache_lookup.h"

#include <utility>

namespace sluice::router {
namespace {

class LookupCall final : public grpc::ClientReadReactor<sluice::v1::CacheEvent> {
 public:
  LookupCall(std::shared_ptr<grpc::ClientContext> context,
             sluice::v1::CacheLookupRequest request,
             CacheLookupHandlers handlers)
      : context_(std::move(context)),
        request_(std::move(request)),
        handlers_(std::move(handlers)) {}

  void Start(sluice::v1::Cache::Stub* stub) {
    stub->async()->Lookup(context_.get(), &request_, this);
    StartRead(&event_);
    StartCall();
  }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    switch (event_.event_case()) {
      case sluice::v1::CacheEvent::kHit:
        ended_ = true;
        handlers_.on_hit(std::move(*event_.mutable_hit()));
        break;
      case sluice::v1::CacheEvent::kLead:
        ended_ = true;
        handlers_.on_lead(event_.lead().key());
        break;
      case sluice::v1::CacheEvent::kMiss:
        ended_ = true;
        handlers_.on_miss(event_.miss().bypass());
        break;
      case sluice::v1::CacheEvent::kChunk:
        handlers_.on_chunk(std::move(*event_.mutable_chunk()));
        break;
      case sluice::v1::CacheEvent::kDone:
        ended_ = true;
        handlers_.on_done(std::move(*event_.mutable_done()));
        break;
      default:
        break;
    }
    event_.Clear();
    if (!ended_) StartRead(&event_);
  }

  void OnDone(const grpc::Status&) override {
    if (!ended_) handlers_.on_miss(/*bypass=*/false);  // cache unreachable
    delete this;
  }

  std::shared_ptr<grpc::ClientContext> context_;
  sluice::v1::CacheLookupRequest request_;
  CacheLookupHandlers handlers_;
  sluice::v1::CacheEvent event_;
  bool ended_ = false;
};

}  // namespace

void StartCacheLookup(sluice::v1::Cache::Stub* stub,
                      std::shared_ptr<grpc::ClientContext> context,
                      sluice::v1::CacheLookupRequest request,
                      CacheLookupHandlers handlers) {
  (new LookupCall(std::move(context), std::move(request), std::move(handlers)))
      ->Start(stub);
}

}  // namespace sluice::router
