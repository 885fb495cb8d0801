// Work that may block on the key store's database — a key not in memory,
// the admin API's key calls — moved off the HTTP I/O and gRPC callback
// threads onto a few threads of its own behind a bounded queue. A database
// that hangs holds those threads and fills that queue, never the request
// threads: /health, and every request whose key is in memory, go on.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "libs/http/server.h"
#include "libs/io/bounded_pool.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/request_admission.h"

namespace sluice::ingress {

// A copy of RequestHeaders (whose views point into their request) for work
// that runs after the request's own buffers may be gone.
struct OwnedRequestHeaders {
  explicit OwnedRequestHeaders(const RequestHeaders& headers);
  RequestHeaders View() const;

  std::string authorization, key_sha256, traceparent, task, cache, cache_ttl;
  bool batch = false;
};

class KeyLookups {
 public:
  // `auth` must outlive this. A full queue is answered UNAVAILABLE (503,
  // Retry-After) at once.
  explicit KeyLookups(const ApiKeyAuth* auth, int threads = 2,
                      size_t max_queued = 512);
  // Runs what is queued (each then answers), then joins the threads.
  ~KeyLookups() = default;

  // Calls `then` with the caller `headers` name: before returning when
  // memory knows (or refuses) the key, else later from a lookup thread.
  // The headers are copied for that.
  void Authenticate(
      const RequestHeaders& headers,
      absl::AnyInvocable<void(absl::StatusOr<Caller>) &&> then) const;
  // The two halves of Authenticate: memory's answer (nullopt: the database
  // must be asked), and the database's, from a lookup thread (or
  // UNAVAILABLE at once when the queue is full).
  std::optional<absl::StatusOr<Caller>> InMemory(
      const RequestHeaders& headers) const;
  void Ask(const RequestHeaders& headers,
           absl::AnyInvocable<void(absl::StatusOr<Caller>) &&> then) const;

  // `handler` run at once when memory answers for the request's
  // Authorization header, else on a lookup thread (where the handler's own
  // authentication asks the database).
  http::Handler WhenKeyKnown(http::Handler handler) const;
  // `handler` always run on a lookup thread (it calls the key store).
  http::Handler OffIo(http::Handler handler) const;
  // Runs `work` on a lookup thread; false (work dropped unrun) when the
  // queue is full.
  bool Run(absl::AnyInvocable<void() &&> work) const;

  // Jobs waiting for a lookup thread.
  size_t queued() const { return pool_->queued(); }

 private:
  // Runs `handler` on a lookup thread, or answers 503 when none can take it.
  void Offload(const http::Handler& handler, http::Request request,
               http::ResponseWriterPtr writer) const;

  const ApiKeyAuth* const auth_;
  // Mutable use from const methods: the pool is this object's machinery,
  // not its state.
  const std::unique_ptr<io::BoundedPool> pool_;
};

// The status a full lookup queue answers with.
absl::Status LookupsBusy();

}  // namespace sluice::ingress
