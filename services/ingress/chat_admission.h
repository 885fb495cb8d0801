// The whole admission of a chat request, the same for HTTP and gRPC:
// authentication and validation, the key's model list, a stream slot of its
// tenant, then its rate limits and budgets. Only an admitted request is
// routed; a refused one is answered with the status and still metered.
#pragma once

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/key_lookups.h"
#include "services/ingress/rate_gate.h"
#include "services/ingress/request_admission.h"
#include "services/ingress/request_record.h"
#include "services/ingress/stream_slots.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::ingress {

class ChatAdmission {
 public:
  // All must outlive this.
  ChatAdmission(const ApiKeyAuth* auth, const KeyLookups* lookups,
                RateGate* gate, StreamSlots* slots)
      : auth_(auth), lookups_(lookups), gate_(gate), slots_(slots) {}

  // Fills `request`'s context and the record's caller fields, then calls
  // `done` exactly once, maybe before returning, maybe on another thread:
  // OK to route, else the status to answer with. A key not in memory is
  // looked up on a lookup thread, never on the caller's; `request` must
  // live until `done` is called.
  void Admit(const RequestHeaders& headers,
             sluice::v1::ChatRequest& request, const RequestRecordPtr& record,
             std::function<void(absl::Status)> done);

  const ApiKeyAuth& auth() const { return *auth_; }
  const KeyLookups& lookups() const { return *lookups_; }

 private:
  // Admission once the caller is known (or refused).
  void Continue(absl::StatusOr<Caller> caller, const RequestHeaders& headers,
                sluice::v1::ChatRequest& request,
                const RequestRecordPtr& record,
                std::function<void(absl::Status)> done);

  const ApiKeyAuth* auth_;
  const KeyLookups* lookups_;
  RateGate* gate_;
  StreamSlots* slots_;
};

}  // namespace sluice::ingress
