#include "services/ingress/chat_admission.h"

#include <utility>

namespace sluice::ingress {

void ChatAdmission::Admit(const RequestHeaders& headers,
                          sluice::v1::ChatRequest& request,
                          const RequestRecordPtr& record,
                          std::function<void(absl::Status)> done) {
  absl::StatusOr<Caller> caller =
      AdmitChatRequest(*auth_, headers, request, *record);
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
