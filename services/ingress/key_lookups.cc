#include "services/ingress/key_lookups.h"

#include <string>
#include <utility>

#include "services/ingress/http_errors.h"

namespace sluice::ingress {
OwnedRequestHeaders::OwnedRequestHeaders(const RequestHeaders& h)
    : authorization(h.authorization),
      key_sha256(h.key_sha256),
      traceparent(h.traceparent),
      task(h.task),
      cache(h.cache),
      cache_ttl(h.cache_ttl),
      batch(h.batch) {}

RequestHeaders OwnedRequestHeaders::View() const {
  return {authorization, key_sha256, traceparent, task,
          cache,         cache_ttl,  batch};
}

absl::Status LookupsBusy() {
  return absl::UnavailableError(
      "Too many API keys are being looked up right now; retry shortly.");
}

KeyLookups::KeyLookups(const ApiKeyAuth* auth, int threads, size_t max_queued)
    : auth_(auth),
      pool_(std::make_unique<io::BoundedPool>(threads, max_queued)) {}

void KeyLookups::Authenticate(
    const RequestHeaders& headers,
    absl::AnyInvocable<void(absl::StatusOr<Caller>) &&> then) const {
  std::optional<absl::StatusOr<Caller>> known = InMemory(headers);
  if (known.has_value()) return std::move(then)(*std::move(known));
  Ask(headers, std::move(then));
}

std::optional<absl::StatusOr<Caller>> KeyLookups::InMemory(
    const RequestHeaders& headers) const {
  return headers.key_sha256.empty()
             ? auth_->AuthenticateInMemory(headers.authorization)
             : auth_->AuthenticateKeyHashInMemory(headers.key_sha256);
}

void KeyLookups::Ask(
    const RequestHeaders& headers,
    absl::AnyInvocable<void(absl::StatusOr<Caller>) &&> then) const {
  // Shared so that a refused submission can still answer through `then`.
  auto pending =
      std::make_shared<absl::AnyInvocable<void(absl::StatusOr<Caller>) &&>>(
          std::move(then));
  const bool queued = pool_->TrySubmit(
      [auth = auth_, owned = OwnedRequestHeaders(headers), pending]() {
        std::move (*pending)(AuthenticateHeaders(*auth, owned.View()));
      });
  if (!queued) std::move (*pending)(LookupsBusy());
}

http::Handler KeyLookups::WhenKeyKnown(http::Handler handler) const {
  return [this, handler = std::move(handler)](http::Request request,
                                              http::ResponseWriterPtr writer) {
    if (auth_->AuthenticateInMemory(request.Header("authorization"))
            .has_value()) {
      return handler(std::move(request), std::move(writer));
    }
    Offload(handler, std::move(request), std::move(writer));
  };
}

http::Handler KeyLookups::OffIo(http::Handler handler) const {
  return [this, handler = std::move(handler)](http::Request request,
                                              http::ResponseWriterPtr writer) {
    Offload(handler, std::move(request), std::move(writer));
  };
}

bool KeyLookups::Run(absl::AnyInvocable<void() &&> work) const {
  return pool_->TrySubmit(std::move(work));
}

void KeyLookups::Offload(const http::Handler& handler, http::Request request,
                         http::ResponseWriterPtr writer) const {
  // A refused job never runs, and its request must still be answered.
  http::ResponseWriterPtr kept = writer;
  const bool queued = pool_->TrySubmit([handler, request = std::move(request),
                                        writer = std::move(writer)]() mutable {
    handler(std::move(request), std::move(writer));
  });
  if (!queued) RespondWithError(*kept, LookupsBusy(), {{"retry-after", "1"}});
}

}  // namespace sluice::ingress
