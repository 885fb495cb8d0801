// ResponseWriter implementation; see writer_impl.h.
#include "libs/http/writer_impl.h"

#include <boost/asio/post.hpp>

#include "absl/strings/str_split.h"
#include "libs/http/session.h"

namespace sluice::http::internal {

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

void WriterImpl::WriteEvent(absl::string_view data) {
  auto framed = std::make_shared<std::string>();
  framed->reserve(data.size() + 8);
  for (absl::string_view line : absl::StrSplit(data, '\n')) {
    framed->append("data: ");
    framed->append(line.data(), line.size());
    framed->push_back('\n');
  }
  framed->push_back('\n');
  OnStrand(
      [framed](const WriterImpl* w, Session& s) { s.WriteChunk(w, framed); });
}

void WriterImpl::WriteRaw(absl::string_view bytes) {
  auto data = std::make_shared<std::string>(bytes);
  OnStrand([data](const WriterImpl* w, Session& s) { s.WriteChunk(w, data); });
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
