// The ResponseWriter handed to handlers: thread-safe, it posts every call
// onto its connection's strand and drops calls once the client has gone.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "libs/http/server.h"

namespace sluice::obs {
class Gauge;
}

namespace sluice::http::internal {

class Session;

// sluice_http_stream_queued_bytes: what every stream has queued.
obs::Gauge& QueuedBytesGauge();

class WriterImpl : public ResponseWriter,
                   public std::enable_shared_from_this<WriterImpl> {
 public:
  explicit WriterImpl(std::weak_ptr<Session> session)
      : session_(std::move(session)) {}

  // ResponseWriter
  void Respond(int status, Headers headers, std::string body) override;
  void StartStream(int status, Headers headers) override;
  bool WriteEvent(absl::string_view data) override;
  bool WriteRaw(absl::string_view bytes) override;
  void EndStream() override;
  void Abort() override;
  bool ClientGone() const override { return gone_.load(); }
  void SetOnClientGone(std::function<void()> callback) override;
  void SetOnDrained(std::function<void()> callback) override;

  // Called by the session (on its strand) when the client disconnects.
  void MarkClientGone();
  // Called by the session (on its strand) when `bytes` of the queue have
  // been written to the socket (or dropped).
  void Written(int64_t bytes);

 private:
  template <typename Fn>
  void OnStrand(Fn fn);
  // Counts `bytes` into the queue; false when it is past the high water.
  bool Queue(int64_t bytes);
  // Hands a queued chunk to the session (or drops it, counted as written).
  void PostChunk(std::shared_ptr<std::string> data);

  std::weak_ptr<Session> session_;
  std::atomic<bool> gone_{false};
  absl::Mutex mu_;
  std::function<void()> on_gone_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_drained_ ABSL_GUARDED_BY(mu_);
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;  // a write returned false
};

}  // namespace sluice::http::internal
