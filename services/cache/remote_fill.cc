#include "services/cache/remote_fill.h"

#include <utility>

#include "libs/host/grpc_context.h"
#include "libs/host/timer.h"

namespace sluice::cache {

RemoteFill* RemoteFill::Start(sluice::v1::Cache::Stub* stub,
                              const host::CallContext& context,
                              const host::InternalAuth* auth,
                              const std::string& lease) {
  auto* fill = new RemoteFill();
  // The fill outlives the leader's own call only by kStoreWait.
  host::CallContextPtr detached = host::CallContext::Create(
      {absl::Now() + absl::Minutes(15), context.request_id(),
       context.traceparent(), context.caller()});
  fill->context_ = host::ToClientContext(*detached, auth);
  stub->async()->Fill(fill->context_.get(), &fill->response_, fill);
  sluice::v1::CacheFill first;
  first.set_key(lease);
  fill->Enqueue(std::move(first), /*last=*/false);
  fill->StartCall();
  return fill;
}

void RemoteFill::Chunk(const sluice::v1::ChatChunk& chunk) {
  sluice::v1::CacheFill message;
  *message.mutable_chunk() = chunk;
  Enqueue(std::move(message), false);
}

void RemoteFill::Answer(const sluice::v1::ChatResponse& response) {
  sluice::v1::CacheFill message;
  *message.mutable_response() = response;
  Enqueue(std::move(message), true);
}

void RemoteFill::Abandon() {
  sluice::v1::CacheFill message;
  message.set_abandon(true);
  Enqueue(std::move(message), true);
}

void RemoteFill::Enqueue(sluice::v1::CacheFill message, bool last) {
  const sluice::v1::CacheFill* write;
  bool write_last;
  {
    absl::MutexLock lock(&mu_);
    if (ended_ || broken_ || done_) return;
    if (overflow_ && !last) return;
    int64_t size = static_cast<int64_t>(message.ByteSizeLong());
    if (!last && queued_bytes_ + size > kMaxQueuedBytes) {
      // The cache cannot keep up: what follows is dropped and the fill
      // will end abandoned (its followers go upstream themselves).
      overflow_ = true;
      return;
    }
    if (overflow_ && last) {
      message.Clear();
      message.set_abandon(true);
    }
    ended_ = last;
    queued_bytes_ += size;
    pending_.push_back(std::move(message));
    if (writing_) return;
    write = NextLocked(&write_last);
  }
  Write(write, write_last);
}

const sluice::v1::CacheFill* RemoteFill::NextLocked(bool* last) {
  writing_ = true;
  *last = ended_ && pending_.size() == 1;
  // A deque keeps references to its elements across push_back.
  return &pending_.front();
}

// Outside the lock: gRPC may run OnWriteDone inline.
void RemoteFill::Write(const sluice::v1::CacheFill* message, bool last) {
  if (last) {
    StartWriteLast(message, grpc::WriteOptions());
  } else {
    StartWrite(message);
  }
}

void RemoteFill::OnWriteDone(bool ok) {
  const sluice::v1::CacheFill* next = nullptr;
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    queued_bytes_ -= static_cast<int64_t>(pending_.front().ByteSizeLong());
    pending_.pop_front();
    if (!ok) {
      broken_ = true;
      pending_.clear();
      return;
    }
    if (!pending_.empty()) next = NextLocked(&last);
  }
  if (next != nullptr) Write(next, last);
}

void RemoteFill::Close(absl::AnyInvocable<void() &&> then) {
  // Abandons a fill that was not ended; the write may still be running
  // when the call ends, and OnDone deletes only once closed_ is set.
  Abandon();
  // Taken before closed_ is set: from then on OnDone (another thread) may
  // delete this object (context_ is written once, in Start).
  std::shared_ptr<grpc::ClientContext> context = context_;
  bool destroy;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    destroy = done_;
    if (!destroy) then_ = std::move(then);
  }
  if (destroy) {
    delete this;
    if (then) std::move(then)();
    return;
  }
  // `this` may be gone already: only locals from here on. Bound the wait:
  // a cache that does not answer is cancelled. The timer holds the
  // context, not this object.
  auto timer = std::make_shared<host::Timer>();
  timer->Set(absl::Now() + kStoreWait, [timer, context](bool fired) mutable {
    if (fired) context->TryCancel();
    timer.reset();
  });
}

void RemoteFill::OnDone(const grpc::Status&) {
  bool destroy;
  absl::AnyInvocable<void() &&> then;
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
    destroy = closed_;
    then = std::move(then_);
  }
  if (destroy) {
    delete this;
    if (then) std::move(then)();
  }
}

}  // namespace sluice::cache
