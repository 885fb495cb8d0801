// ResponseWriter implementation; see writer_impl.h.
#include "libs/http/writer_impl.h"

#include <boost/asio/post.hpp>

#include "absl/strings/str_split.h"
#include "libs/http/session.h"
#include "libs/obs/metrics.h"

namespace sluice::http::internal {

obs::Gauge& QueuedBytesGauge() {
  static obs::Gauge& gauge = obs::MetricsRegistry::Default().gauge(
      "sluice_http_stream_queued_bytes",
      "Bytes of streamed answers queued for clients that have not read them "
      "yet (each stream holds at most about 64 KiB before its upstream "
      "read pauses).");
  return gauge;
}

template <typename Fn>
void WriterImpl::OnStrand(Fn fn) {
  if (gone_.load()) return;
  std::shared_ptr<Session> session = session_.lock();
  if (session == nullptr) return;
  asio::post(session->executor(),
             [self = shared_from_this(), session,
              fn = std::move(fn)]() mutable { fn(self.get(), *session); });
}

void WriterImpl::Respond(int status, Headers headers, std::string body) {
  OnStrand([status, headers = std::move(headers), body = std::move(body)](
               const WriterImpl* w, Session& s) mutable {
    s.Respond(w, status, std::move(headers), std::move(body));
  });
}

void WriterImpl::StartStream(int status, Headers headers) {
  OnStrand([status, headers = std::move(headers)](const WriterImpl* w,
                                                  Session& s) mutable {
    s.StartStream(w, status, std::move(headers));
  });
}

bool WriterImpl::WriteEvent(absl::string_view data) {
  if (gone_.load()) return true;
  auto framed = std::make_shared<std::string>();
  framed->reserve(data.size() + 8);
  for (absl::string_view line : absl::StrSplit(data, '\n')) {
    framed->append("data: ");
    framed->append(line.data(), line.size());
    framed->push_back('\n');
  }
  framed->push_back('\n');
  bool open = Queue(static_cast<int64_t>(framed->size()));
  PostChunk(std::move(framed));
  return open;
}

bool WriterImpl::WriteRaw(absl::string_view bytes) {
  if (gone_.load()) return true;
  auto data = std::make_shared<std::string>(bytes);
  bool open = Queue(static_cast<int64_t>(data->size()));
  PostChunk(std::move(data));
  return open;
}

void WriterImpl::PostChunk(std::shared_ptr<std::string> data) {
  std::shared_ptr<Session> session = session_.lock();
  if (session == nullptr || gone_.load()) {
    Written(static_cast<int64_t>(data->size()));
    return;
  }
  asio::post(session->executor(),
             [self = shared_from_this(), session, data = std::move(data)] {
               session->WriteChunk(self.get(), data);
             });
}

bool WriterImpl::Queue(int64_t bytes) {
  QueuedBytesGauge().Add(static_cast<double>(bytes));
  absl::MutexLock lock(&mu_);
  queued_ += bytes;
  if (queued_ <= kStreamHighWater) return true;
  blocked_ = true;
  return false;
}

void WriterImpl::Written(int64_t bytes) {
  QueuedBytesGauge().Add(-static_cast<double>(bytes));
  std::function<void()> drained;
  {
    absl::MutexLock lock(&mu_);
    queued_ -= bytes;
    if (!blocked_ || queued_ > kStreamLowWater) return;
    blocked_ = false;
    drained = on_drained_;
  }
  if (drained) drained();
}

void WriterImpl::SetOnDrained(std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  on_drained_ = std::move(callback);
}

void WriterImpl::EndStream() {
  OnStrand([](const WriterImpl* w, Session& s) { s.EndStream(w); });
}

void WriterImpl::Abort() {
  OnStrand([](const WriterImpl* w, Session& s) { s.Abort(w); });
}

void WriterImpl::SetOnClientGone(std::function<void()> callback) {
  bool call_now = false;
  {
    absl::MutexLock lock(&mu_);
    if (gone_.load()) {
      call_now = true;
    } else {
      on_gone_ = std::move(callback);
    }
  }
  if (call_now && callback) callback();
}

void WriterImpl::MarkClientGone() {
  std::function<void()> callback;
  {
    absl::MutexLock lock(&mu_);
    if (gone_.exchange(true)) return;
    callback = std::move(on_gone_);
  }
  if (callback) callback();
}

}  // namespace sluice::http::internal
