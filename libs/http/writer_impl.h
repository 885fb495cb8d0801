// The ResponseWriter handed to handlers: thread-safe, it posts every call
// onto its connection's strand and drops calls once the client has gone.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "libs/http/server.h"

namespace sluice::http::internal {

class Session;

class WriterImpl : public ResponseWriter,
                   public std::enable_shared_from_this<WriterImpl> {
 public:
  explicit WriterImpl(std::weak_ptr<Session> session)
      : session_(std::move(session)) {}

  // ResponseWriter
  void Respond(int status, Headers headers, std::string body) override;
  void StartStream(int status, Headers headers) override;
  void WriteEvent(absl::string_view data) override;
  void WriteRaw(absl::string_view bytes) override;
  void EndStream() override;
  void Abort() override;
  bool ClientGone() const override { return gone_.load(); }
  void SetOnClientGone(std::function<void()> callback) override;

  // Called by the session (on its strand) when the client disconnects.
  void MarkClientGone();

 private:
  template <typename Fn>
  void OnStrand(Fn fn);

  std::weak_ptr<Session> session_;
  std::atomic<bool> gone_{false};
  absl::Mutex mu_;
  std::function<void()> on_gone_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::http::internal
