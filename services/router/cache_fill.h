// The leader's side of a cache flight: streams the answer into the cache
// service's Fill as it goes to the client (followers see it live), then the
// whole answer (stored when whole) or an abandon. Thread-safe; writes are
// queued, one in flight at a time. Never fails the request: if the cache
// call breaks, what follows is dropped. Close() reports when the cache has
// taken the answer (at most kStoreWait after it), so that a client that got
// its answer finds it stored when it asks again.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sluice/v1/cache.grpc.pb.h"

namespace sluice::router {

class CacheFill final : public grpc::ClientWriteReactor<sluice::v1::CacheFill> {
 public:
  // Starts the Fill call for `lease`. The object lives until the call is
  // done and Close() was called.
  static CacheFill* Start(sluice::v1::Cache::Stub* stub, const std::string& lease);

  void Chunk(const sluice::v1::ChatChunk& chunk);
  // Ends the fill with the whole answer...
  void Answer(const sluice::v1::ChatResponse& response);
  // ...or without one (the request failed).
  void Abandon();
  // The owner lets go; abandons the fill if it was not ended. `then` (may
  // be empty) runs once the cache call is over, on a gRPC thread, never
  // before Close() returns.
  void Close(std::function<void()> then = nullptr);

  static constexpr absl::Duration kStoreWait = absl::Seconds(1);

 private:
  CacheFill() = default;
  void Enqueue(sluice::v1::CacheFill message, bool last);
  // Marks the front message as being written and returns it.
  const sluice::v1::CacheFill* NextLocked(bool* last)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Write(const sluice::v1::CacheFill* message, bool last);

  // grpc::ClientWriteReactor
  void OnWriteDone(bool ok) override;
  void OnWritesDoneDone(bool ok) override {}
  void OnDone(const grpc::Status& status) override;

  // Shared with the timer that bounds the wait for the store.
  std::shared_ptr<grpc::ClientContext> context_ =
      std::make_shared<grpc::ClientContext>();
  sluice::v1::CacheFillResponse response_;
  absl::Mutex mu_;
  std::deque<sluice::v1::CacheFill> pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;   // the last message is queued
  bool broken_ ABSL_GUARDED_BY(mu_) = false;  // a write failed
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> then_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::router
