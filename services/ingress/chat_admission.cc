#include "services/ingress/chat_admission.h"

#include <optional>
#include <utility>

namespace sluice::ingress {

void ChatAdmission::Admit(const RequestHeaders& headers,
                          sluice::v1::ChatRequest& request,
                          const RequestRecordPtr& record,
                          std::function<void(absl::Status)> done) {
  std::optional<absl::StatusOr<Caller>> known = lookups_->InMemory(headers);
  if (known.has_value()) {
    return Continue(*std::move(known), headers, request, record,
                    std::move(done));
  }
  // The key store's database must be asked: on a lookup thread, with the
  // headers kept (their views point into the request's buffers).
  lookups_->Ask(headers, [this, kept = OwnedRequestHeaders(headers), &request,
                          record, done = std::move(done)](
                             absl::StatusOr<Caller> caller) mutable {
    Continue(std::move(caller), kept.View(), request, record, std::move(done));
  });
}

void ChatAdmission::Continue(absl::StatusOr<Caller> known,
                             const RequestHeaders& headers,
                             sluice::v1::ChatRequest& request,
                             const RequestRecordPtr& record,
                             std::function<void(absl::Status)> done) {
  absl::StatusOr<Caller> caller =
      AdmitChatRequestAs(std::move(known), headers, request, *record);
  if (!caller.ok()) return done(caller.status());
  if (request.stream()) {
    if (absl::Status slot = slots_->Take(caller->tenant, *record);
        !slot.ok()) {
      return done(slot);
    }
  }
  gate_->Admit(record, *caller, request, std::move(done));
}

}  // namespace sluice::ingress
