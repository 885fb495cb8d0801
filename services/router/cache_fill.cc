#include "services/router/cache_fill.h"

#include <utility>

#include <grpcpp/alarm.h>

namespace sluice::router {

CacheFill* CacheFill::Start(sluice::v1::Cache::Stub* stub,
                            const std::string& lease) {
  auto* fill = new CacheFill();
  fill->context_->set_deadline(std::chrono::system_clock::now() +
                               std::chrono::minutes(15));
  stub->async()->Fill(fill->context_.get(), &fill->response_, fill);
  sluice::v1::CacheFill first;
  first.set_key(lease);
  fill->Enqueue(std::move(first), /*last=*/false);
  fill->StartCall();
  return fill;
}

void CacheFill::Chunk(const sluice::v1::ChatChunk& chunk) {
  sluice::v1::CacheFill message;
  *message.mutable_chunk() = chunk;
  Enqueue(std::move(message), false);
}

void CacheFill::Answer(const sluice::v1::ChatResponse& response) {
  sluice::v1::CacheFill message;
  *message.mutable_response() = response;
  Enqueue(std::move(message), true);
}

void CacheFill::Abandon() {
  sluice::v1::CacheFill message;
  message.set_abandon(true);
  Enqueue(std::move(message), true);
}

void CacheFill::Enqueue(sluice::v1::CacheFill message, bool last) {
  const sluice::v1::CacheFill* write;
  bool write_last;
  {
    absl::MutexLock lock(&mu_);
    if (ended_ || broken_ || done_) return;
    ended_ = last;
    pending_.push_back(std::move(message));
    if (writing_) return;
    write = NextLocked(&write_last);
  }
  Write(write, write_last);
}

const sluice::v1::CacheFill* CacheFill::NextLocked(bool* last) {
  writing_ = true;
  *last = ended_ && pending_.size() == 1;
  // A deque keeps references to its elements across push_back.
  return &pending_.front();
}

// Outside the lock: gRPC may run OnWriteDone inline.
void CacheFill::Write(const sluice::v1::CacheFill* message, bool last) {
  if (last) {
    StartWriteLast(message, grpc::WriteOptions());
  } else {
    StartWrite(message);
  }
}

void CacheFill::OnWriteDone(bool ok) {
  const sluice::v1::CacheFill* next = nullptr;
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
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

void CacheFill::Close(std::function<void()> then) {
  // Abandons a fill that was not ended. The write may still be running when
  // the call ends, and OnDone deletes only once closed_ is set, so it is
  // issued before.
  Abandon();
  bool destroy;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    destroy = done_;
    if (!destroy) then_ = std::move(then);
  }
  if (destroy) {
    delete this;
    // Never inline: the caller may hold its own lock.
    if (then) {
      auto* soon = new grpc::Alarm();
      soon->Set(std::chrono::system_clock::now(),
                [soon, then = std::move(then)](bool) {
                  then();
                  delete soon;
                });
    }
    return;
  }
  // Bound the wait: a cache that does not answer is cancelled. The timer
  // holds the context, not this object, and deletes itself.
  auto* alarm = new grpc::Alarm();
  std::shared_ptr<grpc::ClientContext> context = context_;
  alarm->Set(absl::ToChronoTime(absl::Now() + kStoreWait),
             [alarm, context](bool fired) {
               if (fired) context->TryCancel();
               delete alarm;
             });
}

void CacheFill::OnDone(const grpc::Status&) {
  bool destroy;
  std::function<void()> then;
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
    destroy = closed_;
    then = std::move(then_);
  }
  if (destroy) {
    delete this;
    if (then) then();
  }
}

}  // namespace sluice::router
